// The UserApi's queries run by a plain MySqlConnector loop, without HTTP: the baseline that
// bench/api/driver.sh and bench/api/run.sh compare the API with.
//
// Usage:
//   driverloop --query one|all --workers N [--duration S] [--warmup S] [options]   one run
//   driverloop --commands [options]                                               many runs, one process
// Options: --max-id N (ids 1..N; the "all" query must return N rows; default 10000), --cpu-pid PID,
//          --text, --open-per-query, --reset.
// In --commands mode it reads lines "run <one|all> <workers> <duration s> <warmup s>" from stdin and
// answers each with its RESULT line; "quit" or end of input ends it. One process keeps its JIT-compiled
// code across runs, so it is warmed up once (a long first run), as the UserApi is.
//
// Connection: the UserApi's MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD, MYSQL_DATABASE,
// MYSQL_SSL_MODE environment variables, with the same defaults.
//
// Workers are concurrent async loops (MySqlConnector is asynchronous end to end, so no thread waits
// for the server; the thread pool runs the continuations, as it does in the UserApi). Each worker
// opens one connection and keeps it for the whole run (no pool round trip per query), and reuses one
// parameterised command, prepared on the server (MySqlCommand.Prepare), as the UserApi does; --text
// sends the SQL text with the parameter substituted instead:
//   one: SELECT user_id, username, email FROM Users WHERE user_id = @id   (@id uniform in 1..max-id)
//   all: SELECT user_id, username, email FROM Users ORDER BY user_id       (read to the last row)
// Every column of every row is read into a value, as the API does before it serialises a row.
// --open-per-query instead takes a connection from MySqlConnector's pool and gives it back around
// every query, with a new command each time (the UserApi's pattern), with ConnectionReset=false as
// the UserApi sets it; add --reset for the driver's default ConnectionReset=true, which sends a
// COM_RESET_CONNECTION on every open (and discards the prepared statement, so it is prepared again).
//
// Output per run: RESULT <queries> <seconds> <queries/s> <p50 ms> <p99 ms> <errors> <cpu> <cpu-pid>,
// after a human-readable summary on stderr. <cpu> and <cpu-pid> are the CPU time this process and the
// process --cpu-pid names (e.g. mariadbd; 0 when not given) used during the measured window, in cores
// busy (CPU seconds per second). Exit code 0 when every query succeeded, 1 otherwise, 2 on bad usage.
using System.Diagnostics;
using System.Globalization;
using MySqlConnector;

string? query = null;
int workers = 0;
double durationSeconds = 10;
double warmupSeconds = 2;
int maxId = 10_000;
int cpuPid = 0;
var openPerQuery = false;
var commands = false;
var reset = false;
var prepare = true;
try
{
    for (var i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--open-per-query": openPerQuery = true; continue;
            case "--commands": commands = true; continue;
            case "--reset": reset = true; continue;
            case "--text": prepare = false; continue;
        }

        var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--query": query = value; break;
            case "--workers": workers = int.Parse(value, CultureInfo.InvariantCulture); break;
            case "--duration": durationSeconds = double.Parse(value, CultureInfo.InvariantCulture); break;
            case "--warmup": warmupSeconds = double.Parse(value, CultureInfo.InvariantCulture); break;
            case "--max-id": maxId = int.Parse(value, CultureInfo.InvariantCulture); break;
            case "--cpu-pid": cpuPid = int.Parse(value, CultureInfo.InvariantCulture); break;
            default: throw new ArgumentException($"unknown option {args[i]}");
        }

        i++;
    }

    if (maxId < 1)
    {
        throw new ArgumentException("--max-id must be >= 1");
    }

    if (!commands)
    {
        Validate(query ?? "", workers, durationSeconds, warmupSeconds);
    }
}
catch (Exception exception) when (exception is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"driverloop: {exception.Message}");
    Console.Error.WriteLine("usage: driverloop --query one|all --workers N [--duration S] [--warmup S] [--max-id N] [--cpu-pid PID] [--text] [--open-per-query] [--reset]");
    Console.Error.WriteLine("       driverloop --commands [--max-id N] [--cpu-pid PID] [--text] [--open-per-query] [--reset]   (stdin: run <one|all> <workers> <duration> <warmup>)");
    return 2;
}

string Env(string name, string fallback) =>
    Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : fallback;

var builder = new MySqlConnectionStringBuilder
{
    Server = Env("MYSQL_HOST", "127.0.0.1"),
    Port = uint.Parse(Env("MYSQL_PORT", "3306"), CultureInfo.InvariantCulture),
    UserID = Env("MYSQL_USER", "root"),
    Password = Env("MYSQL_PASSWORD", string.Empty),
    Database = Env("MYSQL_DATABASE", "Main"),
    SslMode = Enum.Parse<MySqlSslMode>(Env("MYSQL_SSL_MODE", "Preferred"), ignoreCase: true),
    // One long-lived connection per worker: the pool plays no part (except with --open-per-query).
    Pooling = openPerQuery,
    MaximumPoolSize = 1000,
    ConnectionReset = reset,
    IgnorePrepare = !prepare,
    AutoEnlist = false,
};
var connectionString = builder.ConnectionString;

using var watched = cpuPid > 0 ? Process.GetProcessById(cpuPid) : null;
if (!commands)
{
    return await new Benchmark(connectionString, maxId, openPerQuery, prepare, watched).RunAsync(query!, workers, durationSeconds, warmupSeconds);
}

var benchmark = new Benchmark(connectionString, maxId, openPerQuery, prepare, watched);
var exitCode = 0;
while (Console.In.ReadLine() is { } line)
{
    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (fields.Length == 0)
    {
        continue;
    }

    if (fields[0] == "quit")
    {
        break;
    }

    try
    {
        if (fields.Length != 5 || fields[0] != "run")
        {
            throw new ArgumentException($"expected 'run <one|all> <workers> <duration> <warmup>', got '{line}'");
        }

        var runWorkers = int.Parse(fields[2], CultureInfo.InvariantCulture);
        var runDuration = double.Parse(fields[3], CultureInfo.InvariantCulture);
        var runWarmup = double.Parse(fields[4], CultureInfo.InvariantCulture);
        Validate(fields[1], runWorkers, runDuration, runWarmup);
        exitCode = Math.Max(exitCode, await benchmark.RunAsync(fields[1], runWorkers, runDuration, runWarmup));
    }
    catch (Exception exception) when (exception is ArgumentException or FormatException or OverflowException)
    {
        Console.Error.WriteLine($"driverloop: {exception.Message}");
        Console.WriteLine("RESULT-ERROR bad command");
        exitCode = 2;
    }
}

return exitCode;

static void Validate(string query, int workers, double durationSeconds, double warmupSeconds)
{
    if (query is not ("one" or "all") || workers is < 1 or > 1000 || durationSeconds <= 0 || warmupSeconds < 0)
    {
        throw new ArgumentException("need query one|all, workers 1..1000, duration > 0, warmup >= 0");
    }
}

/// <summary>Runs the queries with N concurrent async workers and reports throughput and latency.</summary>
internal sealed class Benchmark(string connectionString, int maxId, bool openPerQuery, bool prepare, Process? watched)
{
    private const string SelectOneSql = "SELECT user_id, username, email FROM Users WHERE user_id = @id";
    private const string SelectAllSql = "SELECT user_id, username, email FROM Users ORDER BY user_id";

    /// <summary>One run; prints its RESULT line. Returns 0 when every query succeeded, 1 otherwise.</summary>
    public async Task<int> RunAsync(string query, int workers, double durationSeconds, double warmupSeconds)
    {
        var samples = new List<long>[workers];
        var errors = new int[workers];
        var failures = new string?[workers];
        var window = new long[2]; // [warm-up end, measurement end] as Stopwatch timestamps; 0 = not yet
        var stop = new int[1];

        // All workers connect first; the clock starts when the last one is ready.
        var connected = new TaskCompletionSource[workers];
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            connected[w] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var worker = w;
            tasks[w] = Task.Run(() => RunWorkerAsync(worker));
        }

        var allConnected = Task.WhenAll(connected.Select(c => c.Task));
        if (await Task.WhenAny(allConnected, Task.Delay(TimeSpan.FromSeconds(60))) != allConnected)
        {
            Console.Error.WriteLine("driverloop: workers did not connect within 60 s");
            Console.WriteLine("RESULT-ERROR connect timeout");
            return 1;
        }

        var started = Stopwatch.GetTimestamp();
        var warmupEnd = started + (long)(warmupSeconds * Stopwatch.Frequency);
        Volatile.Write(ref window[1], warmupEnd + (long)(durationSeconds * Stopwatch.Frequency));
        Volatile.Write(ref window[0], warmupEnd);
        go.SetResult();
        using var self = Process.GetCurrentProcess();
        await Task.Delay(TimeSpan.FromSeconds(warmupSeconds));
        var (selfBefore, watchedBefore) = CpuTimes(self);
        await Task.Delay(TimeSpan.FromSeconds(durationSeconds));
        var (selfAfter, watchedAfter) = CpuTimes(self);
        Volatile.Write(ref stop[0], 1);
        if (!Task.WaitAll(tasks, TimeSpan.FromSeconds(60)))
        {
            Console.Error.WriteLine("driverloop: a worker did not finish within 60 s of the end");
            Console.WriteLine("RESULT-ERROR worker hung");
            return 1;
        }

        foreach (var failure in failures.Where(f => f is not null).Distinct().Take(3))
        {
            Console.Error.WriteLine($"driverloop: worker failed: {failure}");
        }

        var all = samples.Where(s => s is not null).SelectMany(s => s).ToArray();
        Array.Sort(all);
        var count = all.Length;
        var totalErrors = errors.Sum();
        double Percentile(double p) =>
            count == 0 ? double.NaN : all[Math.Clamp((int)Math.Ceiling(p / 100 * count) - 1, 0, count - 1)] * 1000.0 / Stopwatch.Frequency;
        var rate = count / durationSeconds;
        var selfCores = (selfAfter - selfBefore).TotalSeconds / durationSeconds;
        var watchedCores = (watchedAfter - watchedBefore).TotalSeconds / durationSeconds;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"driverloop: query={query} workers={workers} duration={durationSeconds}s queries={count} rate={rate:0.0}/s p50={Percentile(50):0.000}ms p99={Percentile(99):0.000}ms errors={totalErrors}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT {count} {durationSeconds:0.000} {rate:0.0} {Percentile(50):0.000} {Percentile(99):0.000} {totalErrors} {selfCores:0.00} {watchedCores:0.00}"));
        return totalErrors == 0 && count > 0 ? 0 : 1;

        async Task RunWorkerAsync(int worker)
        {
            var mine = new List<long>(capacity: 1 << 16);
            samples[worker] = mine;
            MySqlConnection? connection = null;
            try
            {
                connection = new MySqlConnection(connectionString);
                await connection.OpenAsync();
                if (openPerQuery)
                {
                    // Back to the pool: each query takes it (or another) again.
                    await connection.CloseAsync();
                }
            }
            catch (MySqlException exception)
            {
                failures[worker] = $"connect: {exception.Message}";
                errors[worker]++;
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }

                connection = null;
            }

            connected[worker].SetResult();
            await go.Task;
            if (connection is null)
            {
                return;
            }

            await using (connection)
            {
                var random = new Random((worker * 7919) + 17);
                var expected = query == "one" ? 1 : maxId;
                var sql = query == "one" ? SelectOneSql : SelectAllSql;
                MySqlCommand? kept = null;
                while (Volatile.Read(ref stop[0]) == 0)
                {
                    var id = (long)random.Next(1, maxId + 1);
                    var begin = Stopwatch.GetTimestamp();
                    try
                    {
                        int rows;
                        if (openPerQuery)
                        {
                            // The UserApi's pattern: a pooled connection and a new command per query.
                            await using var pooled = new MySqlConnection(connectionString);
                            await pooled.OpenAsync();
                            await using var command = await NewCommandAsync(pooled, sql, id);
                            rows = await ReadAllAsync(command);
                        }
                        else
                        {
                            kept ??= await NewCommandAsync(connection, sql, id);
                            kept.Parameters[0].Value = id;
                            rows = await ReadAllAsync(kept);
                        }

                        if (rows != expected)
                        {
                            throw new InvalidOperationException($"expected {expected} rows, read {rows}");
                        }
                    }
                    catch (Exception exception) when (exception is MySqlException or InvalidOperationException)
                    {
                        failures[worker] ??= exception.Message;
                        errors[worker]++;
                        if (!openPerQuery && (connection.State != System.Data.ConnectionState.Open || !await connection.PingAsync()))
                        {
                            return;
                        }

                        continue;
                    }

                    var end = Stopwatch.GetTimestamp();
                    var from = Volatile.Read(ref window[0]);
                    if (from != 0 && begin >= from && end <= Volatile.Read(ref window[1]))
                    {
                        mine.Add(end - begin);
                    }
                }

                if (kept is not null)
                {
                    await kept.DisposeAsync();
                }
            }
        }
    }

    private async Task<MySqlCommand> NewCommandAsync(MySqlConnection connection, string sql, long id)
    {
        var command = new MySqlCommand(sql, connection);
        command.Parameters.Add(new MySqlParameter("@id", MySqlDbType.Int64) { Value = id });
        if (prepare)
        {
            // Prepared once per physical connection: MySqlConnector caches it on the session (and
            // forgets it when the session is reset).
            await command.PrepareAsync();
        }

        return command;
    }

    private static async Task<int> ReadAllAsync(MySqlCommand command)
    {
        var rows = 0;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            _ = reader.GetInt32(0);
            _ = reader.IsDBNull(1) ? null : reader.GetString(1);
            _ = reader.IsDBNull(2) ? null : reader.GetString(2);
            rows++;
        }

        return rows;
    }

    private (TimeSpan Self, TimeSpan Watched) CpuTimes(Process self)
    {
        self.Refresh();
        watched?.Refresh();
        return (self.TotalProcessorTime, watched?.TotalProcessorTime ?? TimeSpan.Zero);
    }
}
