namespace UserApiService.Tests.Infrastructure;

/// <summary>
/// One private MariaDB for all database tests (collection <see cref="MariaDbCollection"/>), loaded with
/// hack/seed.sql (database <c>Main</c>, 40 users) plus:
/// <list type="bullet">
/// <item><c>Big.Users</c>: <see cref="BigRowCount"/> users, for streaming many rows (735 KB of JSON);</item>
/// <item><c>Wide.Users</c>: a view of the same rows with names of over 2,000 characters, 20.7 MB of
/// JSON: far more than the kernel's socket buffers on loopback take (up to about 4 MB a socket), so
/// that a client that stops reading really holds up the response, and its query, on the server;</item>
/// <item><c>Stuck.Users</c>: a view of the first <see cref="StuckRowCount"/> wide rows, produced at once,
/// followed by one whose production sleeps for <see cref="StuckSleep"/>: a response that has started
/// and holds its connection for as long as a test needs, whatever the machine's speed, until its query
/// is killed.</item>
/// </list>
/// Also runs one API instance against <c>Main</c>.
/// </summary>
public sealed class MariaDbFixture : IAsyncLifetime
{
    public const int SeedRowCount = 40;
    public const int BigRowCount = 10_000;
    public const int WideNamePadding = 2_000;
    public const int StuckRowCount = 100;
    public static readonly TimeSpan StuckSleep = TimeSpan.FromHours(1);

    /// <summary>The start of every <c>GET /users</c> on <c>Wide</c> and <c>Stuck</c>: user 1's object up to its padding.</summary>
    public const string WideFirstRowStart = """[{"user_id":1,"username":"Zoë-1xxxxxxxxxx""";

    private MariaDbServer? _database;
    private ApiServer? _api;

    public MariaDbServer Database => _database ?? throw new InvalidOperationException("Fixture not initialised.");

    /// <summary>The API against <c>Main</c>, shared by the tests of the collection.</summary>
    public ApiServer Api => _api ?? throw new InvalidOperationException("Fixture not initialised.");

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string SeedSqlPath => Path.Combine(RepositoryRoot, "hack", "seed.sql");

    public async Task InitializeAsync()
    {
        _database = await MariaDbServer.StartNewAsync(password: "test-pw-\u00e9'\"x");
        await _database.ExecuteAsync(await File.ReadAllTextAsync(SeedSqlPath));
        await _database.ExecuteAsync(
            $"""
            CREATE DATABASE Big CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
            USE Big;
            CREATE TABLE Users (
              user_id INT NOT NULL PRIMARY KEY,
              username VARCHAR(255) NOT NULL,
              email VARCHAR(255) NOT NULL
            ) DEFAULT CHARSET=utf8mb4;
            INSERT INTO Users SELECT seq, CONCAT('Zoë-', seq), CONCAT('user', seq, '@example.com')
              FROM seq_1_to_{BigRowCount};
            CREATE DATABASE Wide CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
            CREATE VIEW Wide.Users AS
              SELECT user_id, CONCAT(username, REPEAT('x', {WideNamePadding})) AS username, email
              FROM Big.Users;
            CREATE DATABASE Stuck CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
            CREATE VIEW Stuck.Users AS
              SELECT user_id, CONCAT(username, REPEAT('x', {WideNamePadding})) AS username, email
              FROM Big.Users
              WHERE user_id <= {StuckRowCount + 1} AND SLEEP(IF(user_id > {StuckRowCount}, {(int)StuckSleep.TotalSeconds}, 0)) = 0;
            """);
        _api = await ApiServer.StartAsync(_database);
    }

    public async Task DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "hack", "seed.sql")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No hack/seed.sql above {AppContext.BaseDirectory}.");
    }
}

[CollectionDefinition(Name)]
public sealed class MariaDbCollection : ICollectionFixture<MariaDbFixture>
{
    public const string Name = "MariaDB";
}
