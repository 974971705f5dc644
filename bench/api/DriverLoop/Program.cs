// The UserApi's queries run by a plain MySql.Data loop, without HTTP: the baseline that
// bench/api/run.sh compares the API with.
//
// Usage:
//   driverloop --query one|all --workers N [--duration S] [--warmup S] [options]   one run
//   driverloop --commands [options]                                               many runs, one process
// Options: --max-id N (ids 1..N; the "all" query must return N rows; default 10000), --cpu-pid PID,
//          --text, --open-per-query, --utf8-provider.
// In --commands mode it reads lines "run <one|all> <workers> <duration s> <warmup s>" from stdin and
// answers each with its RESULT line; "quit" or end of input ends it. One process keeps its JIT-compiled
// code across runs, so it is warmed up once (a long first run), as the UserApi is.
//
// Connection: the UserApi's MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD, MYSQL_DATABASE,
// MYSQL_SSL_MODE environment variables, with the same defaults.
//
// Workers are dedicated threads calling the driver's synchronous API. MySql.Data 8.0.16's *Async
// methods block and return a completed task, so an async loop would block a thread-pool thread per
// worker anyway; with threads the blocking is explicit and the thread pool stays out of the figures.
// Each worker opens one connection and keeps it for the whole run (no pool round trip per query), and
// reuses one parameterised command, prepared on the server (IgnorePrepare=false, MySqlCommand.Prepare),
// as the UserApi does; --text sends the SQL text with the parameter substituted instead:
//   one: SELECT user_id, username, email FROM Users WHERE user_id = @id   (@id uniform in 1..max-id)
//   all: SELECT user_id, username, email FROM Users ORDER BY user_id       (read to the last row)
// Every column of every row is read into a value, as the API does before it serialises a row.
// --open-per-query instead opens and closes a connection from MySql.Data's pool around every query (the
// UserApi's pattern before it kept its connections open): MySql.Data 8.0.16 sends a COM_PING and a
// COM_INIT_DB on every pooled Open, so that costs two extra round trips per query; used to measure it
// (it implies --text).
// --utf8-provider registers the encoding provider the UserApi registers (src/UserApi/Data/
// Utf8EncodingProvider.cs; the same few lines are repeated below): MySql.Data then no longer scans the
// code-page table under a lock for every column of every result. Not "the plain way", so off by
// default; for checking how much of the driver loop's own variance at 64 threads that lock explains
// (bench/api/README.md: little; the thrashing is in the blocking socket waits).
//
// Output per run: RESULT <queries> <seconds> <queries/s> <p50 ms> <p99 ms> <errors> <cpu> <cpu-pid>,
// after a human-readable summary on stderr. <cpu> and <cpu-pid> are the CPU time this process and the
// process --cpu-pid names (e.g. mariadbd; 0 when not given) used during the measured window, in cores
// busy (CPU seconds per second). Exit code 0 when every query succeeded, 1 otherwise, 2 on bad usage.
using System.Diagnostics;
using System.Globalization;
using MySql.Data.MySqlClient;

string? query = null;
int workers = 0;
double durationSeconds = 10;
double warmupSeconds = 2;
int maxId = 10_000;
int cpuPid = 0;
var openPerQuery = false;
var commands = false;
var utf8Provider = false;
var prepare = true;
try
{
    for (var i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--open-per-query": openPerQuery = true; continue;
            case "--commands": commands = true; continue;
            case "--utf8-provider": utf8Provider = true; continue;
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

    // A statement prepared on one physical connection does not survive Close/Open through the pool.
    if (openPerQuery)
    {
        prepare = false;
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
    Console.Error.WriteLine("usage: driverloop --query one|all --workers N [--duration S] [--warmup S] [--max-id N] [--cpu-pid PID] [--text] [--open-per-query] [--utf8-provider]");
    Console.Error.WriteLine("       driverloop --commands [--max-id N] [--cpu-pid PID] [--text] [--open-per-query] [--utf8-provider]   (stdin: run <one|all> <workers> <duration> <warmup>)");
    return 2;
}

if (utf8Provider)
{
    System.Text.Encoding.RegisterProvider(new Utf8AsciiProvider());
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
    CharacterSet = "utf8mb4",
    SslMode = Enum.Parse<MySqlSslMode>(Env("MYSQL_SSL_MODE", "Preferred"), ignoreCase: true),
    // One long-lived connection per worker: the pool plays no part (except with --open-per-query).
    Pooling = openPerQuery,
    MaximumPoolSize = 1000,
    IgnorePrepare = !prepare,
};
var connectionString = builder.ConnectionString;

using var watched = cpuPid > 0 ? Process.GetProcessById(cpuPid) : null;
if (!commands)
{
    return new Benchmark(connectionString, maxId, openPerQuery, prepare, watched).Run(query!, workers, durationSeconds, warmupSeconds);
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
        exitCode = Math.Max(exitCode, benchmark.Run(fields[1], runWorkers, runDuration, runWarmup));
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

/// <summary>Answers UTF-8 and US-ASCII lookups first, as the UserApi's Utf8EncodingProvider does.</summary>
internal sealed class Utf8AsciiProvider : System.Text.EncodingProvider
{
    public override System.Text.Encoding? GetEncoding(int codepage) => codepage switch
    {
        65001 => System.Text.Encoding.UTF8,
        20127 => System.Text.Encoding.ASCII,
        _ => null,
    };

    public override System.Text.Encoding? GetEncoding(string name) =>
        string.Equals(name, "utf-8", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "utf8", StringComparison.OrdinalIgnoreCase)
            ? System.Text.Encoding.UTF8
            : string.Equals(name, "us-ascii", StringComparison.OrdinalIgnoreCase) ? System.Text.Encoding.ASCII : null;
}

/// <summary>Runs the queries with N worker threads and reports throughput and latency.</summary>
internal sealed class Benchmark(string connectionString, int maxId, bool openPerQuery, bool prepare, Process? watched)
{
    private const string SelectOneSql = "SELECT user_id, username, email FROM Users WHERE user_id = @id";
    private const string SelectAllSql = "SELECT user_id, username, email FROM Users ORDER BY user_id";

    /// <summary>One run; prints its RESULT line. Returns 0 when every query succeeded, 1 otherwise.</summary>
    public int Run(string query, int workers, double durationSeconds, double warmupSeconds)
    {
        // All workers connect first; the clock starts when the last one is ready.
        using var ready = new Barrier(workers + 1);
        var samples = new List<long>[workers];
        var errors = new int[workers];
        var failures = new string?[workers];
        var window = new long[2]; // [warm-up end, measurement end] as Stopwatch timestamps; 0 = not yet
        var stop = new int[1];

        var threads = new Thread[workers];
        for (var w = 0; w < workers; w++)
        {
            var worker = w;
            threads[w] = new Thread(() => RunWorker(worker)) { IsBackground = true, Name = $"driver-{w}" };
            threads[w].Start();
        }

        if (!ready.SignalAndWait(TimeSpan.FromSeconds(60)))
        {
            Console.Error.WriteLine("driverloop: workers did not connect within 60 s");
            Console.WriteLine("RESULT-ERROR connect timeout");
            return 1;
        }

        var started = Stopwatch.GetTimestamp();
        var warmupEnd = started + (long)(warmupSeconds * Stopwatch.Frequency);
        Volatile.Write(ref window[1], warmupEnd + (long)(durationSeconds * Stopwatch.Frequency));
        Volatile.Write(ref window[0], warmupEnd);
        using var self = Process.GetCurrentProcess();
        Thread.Sleep(TimeSpan.FromSeconds(warmupSeconds));
        var (selfBefore, watchedBefore) = CpuTimes(self);
        Thread.Sleep(TimeSpan.FromSeconds(durationSeconds));
        var (selfAfter, watchedAfter) = CpuTimes(self);
        Volatile.Write(ref stop[0], 1);
        foreach (var thread in threads)
        {
            if (!thread.Join(TimeSpan.FromSeconds(60)))
            {
                Console.Error.WriteLine("driverloop: a worker did not finish within 60 s of the end");
                Console.WriteLine("RESULT-ERROR worker hung");
                return 1;
            }
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

        void RunWorker(int worker)
        {
            var mine = new List<long>(capacity: 1 << 16);
            samples[worker] = mine;
            MySqlConnection? connection = null;
            try
            {
                connection = new MySqlConnection(connectionString);
                connection.Open();
            }
            catch (MySqlException exception)
            {
                failures[worker] = $"connect: {exception.Message}";
                errors[worker]++;
                connection?.Dispose();
                connection = null;
            }

            ready.SignalAndWait();
            if (connection is null)
            {
                return;
            }

            using (connection)
            using (var command = new MySqlCommand(query == "one" ? SelectOneSql : SelectAllSql, connection))
            {
                var id = command.Parameters.Add("@id", MySqlDbType.Int64);
                if (prepare)
                {
                    id.Value = 1L;
                    command.Prepare();
                }

                var random = new Random((worker * 7919) + 17);
                while (Volatile.Read(ref stop[0]) == 0)
                {
                    id.Value = (long)random.Next(1, maxId + 1);
                    var begin = Stopwatch.GetTimestamp();
                    try
                    {
                        if (openPerQuery)
                        {
                            connection.Close();
                            connection.Open();
                        }

                        var rows = 0;
                        using (var reader = command.ExecuteReader())
                        {
                            while (reader.Read())
                            {
                                _ = reader.GetInt32(0);
                                _ = reader.IsDBNull(1) ? null : reader.GetString(1);
                                _ = reader.IsDBNull(2) ? null : reader.GetString(2);
                                rows++;
                            }
                        }

                        if (rows != (query == "one" ? 1 : maxId))
                        {
                            throw new InvalidOperationException($"expected {(query == "one" ? 1 : maxId)} rows, read {rows}");
                        }
                    }
                    catch (Exception exception) when (exception is MySqlException or InvalidOperationException)
                    {
                        failures[worker] ??= exception.Message;
                        errors[worker]++;
                        if (connection.State != System.Data.ConnectionState.Open || !connection.Ping())
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
            }
        }
    }

    private (TimeSpan Self, TimeSpan Watched) CpuTimes(Process self)
    {
        self.Refresh();
        watched?.Refresh();
        return (self.TotalProcessorTime, watched?.TotalProcessorTime ?? TimeSpan.Zero);
    }
}
