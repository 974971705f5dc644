using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace UserApiService.Tests.Infrastructure;

/// <summary>
/// A private MariaDB server for the tests: <c>mariadb-install-db</c> into a temporary directory,
/// <c>mariadbd</c> on a free 127.0.0.1 port with its own socket, root reachable over TCP with a
/// password. It can be stopped and started again (same data, same port) to simulate an outage.
/// </summary>
public sealed class MariaDbServer : IAsyncDisposable
{
    private const string InstallHint =
        "MariaDB binaries are missing; the UserApi tests need a real MariaDB. Install them with: hack/mariadb.sh install";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly string _mariadbd;
    private readonly string _client;
    private Process? _process;

    private MariaDbServer(string directory, int port, string password, string mariadbd, string client)
    {
        Directory = directory;
        Port = port;
        Password = password;
        _mariadbd = mariadbd;
        _client = client;
    }

    /// <summary>Instance directory (data, socket, pid file, logs).</summary>
    public string Directory { get; }

    /// <summary>TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Password of root@127.0.0.1.</summary>
    public string Password { get; }

    public string DataDirectory => Path.Combine(Directory, "data");

    public string SocketPath => Path.Combine(Directory, "mariadb.sock");

    public string ErrorLogPath => Path.Combine(Directory, "error.log");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Creates, initialises and starts a new instance.</summary>
    public static async Task<MariaDbServer> StartNewAsync(string password)
    {
        var mariadbd = FindProgram("mariadbd", "mysqld");
        var installDb = FindProgram("mariadb-install-db", "mysql_install_db");
        var client = FindProgram("mariadb", "mysql");
        if (mariadbd is null || installDb is null || client is null)
        {
            throw new InvalidOperationException(
                $"{InstallHint} (found mariadbd: {mariadbd ?? "no"}, mariadb-install-db: {installDb ?? "no"}, mariadb: {client ?? "no"})");
        }

        CleanUpAbandonedInstances();
        var directory = Path.Combine(Path.GetTempPath(), $"userapi-tests-{Guid.NewGuid():N}"[..26]);
        System.IO.Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));

        var server = new MariaDbServer(directory, FreeTcpPort(), password, mariadbd, client);
        try
        {
            await server.InitialiseAsync(installDb);
            await server.StartAsync();
            var quoted = password.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);
            await server.ExecuteAsync(
                $"""
                CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '{quoted}';
                ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '{quoted}';
                GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
                FLUSH PRIVILEGES;
                """);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts mariadbd on the instance's data, port and socket; waits until it answers.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("MariaDB is already running.");
        }

        var start = new ProcessStartInfo(_mariadbd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--no-defaults",
                     $"--datadir={DataDirectory}",
                     $"--socket={SocketPath}",
                     $"--pid-file={Path.Combine(Directory, "mariadb.pid")}",
                     $"--log-error={ErrorLogPath}",
                     "--bind-address=127.0.0.1",
                     $"--port={Port}",
                     "--skip-name-resolve",
                     "--character-set-server=utf8mb4",
                     "--collation-server=utf8mb4_unicode_ci",
                     "--innodb-buffer-pool-size=32M",
                     "--innodb-log-file-size=16M",
                     "--skip-log-bin",
                     "--max-connections=200",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        if (IsRoot())
        {
            start.ArgumentList.Add("--user=root");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_mariadbd}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"mariadbd exited with code {process.ExitCode} during start-up.\n{TailOfErrorLog()}");
            }

            if (await AnswersAsync())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"mariadbd did not answer on 127.0.0.1:{Port} within {StartTimeout.TotalSeconds} s.\n{TailOfErrorLog()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Stops mariadbd with SIGTERM (SIGKILL after 30 s) and waits until it has exited.</summary>
    public async Task StopAsync()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(StopTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        process.Dispose();
        _process = null;
    }

    /// <summary>Runs SQL as root over the private socket; returns the output (tab-separated, no headers).</summary>
    public async Task<string> ExecuteAsync(string sql, string? database = null)
    {
        var start = new ProcessStartInfo(_client)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var argument in new[]
                 {
                     "--no-defaults", "--protocol=SOCKET", $"--socket={SocketPath}", "--user=root",
                     "--batch", "--skip-column-names", "--raw", "--default-character-set=utf8mb4",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        if (database is not null)
        {
            start.ArgumentList.Add(database);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_client}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(sql);
        process.StandardInput.Close();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"mariadb exited with {process.ExitCode}: {await error}");
        }

        return await output;
    }

    /// <summary>
    /// How many <c>SELECT user_id, ...</c> queries of the UserApi run on the server in
    /// <paramref name="database"/> now (the server's own process list): each is a <c>/users</c> stream
    /// holding a connection, or a <c>/users/{id}</c> query in flight.
    /// </summary>
    public async Task<int> RunningUserQueriesAsync(string database)
    {
        var output = await ExecuteAsync(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            + $"WHERE DB = '{database}' AND INFO LIKE 'SELECT user_id, username, email FROM Users%';");
        return int.Parse(output.Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Freezes (SIGSTOP) or thaws (SIGCONT) mariadbd: while frozen the kernel still accepts TCP
    /// connections on its port, but nothing answers on them, as with a hung database.
    /// </summary>
    public async Task SignalAsync(bool freeze)
    {
        var process = _process ?? throw new InvalidOperationException("MariaDB is not running.");
        using var kill = Process.Start("kill", [freeze ? "-STOP" : "-CONT", process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill {(freeze ? "-STOP" : "-CONT")} {process.Id} exited with {kill.ExitCode}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            TryDeleteDirectory(Directory);
        }
    }

    private static string? FindProgram(params string[] names)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var directories = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/usr/bin", "/sbin"]);
        return names
            .SelectMany(name => directories.Select(directory => Path.Combine(directory, name)))
            .FirstOrDefault(IsExistingFile);
    }

    /// <summary>Whether <paramref name="path"/> is a file, or a symbolic link that leads to one.</summary>
    private static bool IsExistingFile(string path)
    {
        var file = new FileInfo(path);
        return file.Exists && (file.LinkTarget is null || file.ResolveLinkTarget(returnFinalTarget: true)?.Exists == true);
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsRoot() => Environment.UserName == "root";

    /// <summary>Removes instances left behind by test runs whose process no longer exists.</summary>
    private static void CleanUpAbandonedInstances()
    {
        foreach (var directory in System.IO.Directory.EnumerateDirectories(Path.GetTempPath(), "userapi-tests-*"))
        {
            if (ProcessAlive(ReadPid(Path.Combine(directory, "owner.pid"))))
            {
                continue;
            }

            var serverPid = ReadPid(Path.Combine(directory, "mariadb.pid"));
            if (ProcessAlive(serverPid) && CommandLineMentions(serverPid!.Value, directory))
            {
                try
                {
                    using var orphan = Process.GetProcessById(serverPid.Value);
                    orphan.Kill();
                    orphan.WaitForExit(10_000);
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or System.ComponentModel.Win32Exception)
                {
                    // Gone already.
                }
            }

            TryDeleteDirectory(directory);
        }
    }

    private static int? ReadPid(string file)
    {
        try
        {
            return int.TryParse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool ProcessAlive(int? pid) => pid is not null && System.IO.Directory.Exists($"/proc/{pid}");

    private static bool CommandLineMentions(int pid, string text)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(text, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task InitialiseAsync(string installDb)
    {
        var start = new ProcessStartInfo(installDb)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--no-defaults", $"--datadir={DataDirectory}", "--auth-root-authentication-method=normal",
                     "--skip-test-db", "--skip-name-resolve",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        if (IsRoot())
        {
            start.ArgumentList.Add("--user=root");
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {installDb}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"mariadb-install-db failed with {process.ExitCode}:\n{await output}\n{await error}");
        }
    }

    private async Task<bool> AnswersAsync()
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, Port);
        }
        catch (SocketException)
        {
            return false;
        }

        try
        {
            return (await ExecuteAsync("SELECT 1;")).Trim() == "1";
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private string TailOfErrorLog()
    {
        try
        {
            var lines = File.ReadAllLines(ErrorLogPath);
            return $"Last lines of {ErrorLogPath}:\n" + string.Join('\n', lines.TakeLast(30));
        }
        catch (IOException)
        {
            return $"(no error log at {ErrorLogPath})";
        }
    }
}
