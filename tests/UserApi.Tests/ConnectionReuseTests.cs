using System.Globalization;
using System.Net;
using UserApiService.Tests.Infrastructure;

namespace UserApiService.Tests;

/// <summary>
/// Requests run their query on a connection the driver's pool kept open, as a statement prepared once
/// on that connection: one round trip to the server per query (<c>COM_STMT_EXECUTE</c>), no reconnect,
/// no <c>COM_RESET_CONNECTION</c> per request (MySqlConnector's default, which would also discard the
/// prepared statement every time), no <c>COM_PING</c> or <c>COM_INIT_DB</c>, no re-preparing.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class ConnectionReuseTests(MariaDbFixture fixture)
{
    private const int Requests = 20;

    [Fact]
    public async Task Sequential_requests_only_execute_their_prepared_query()
    {
        await using var api = await ApiServer.StartAsync(fixture.Database, "Main", "--MYSQL_MAX_POOL_SIZE=2");
        using (var first = await api.Client.GetAsync("/users/1"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var before = await ServerCountersAsync();
        for (var id = 1; id <= Requests; id++)
        {
            using var response = await api.Client.GetAsync($"/users/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var after = await ServerCountersAsync();
        Assert.Equal(Requests, after["Com_stmt_execute"] - before["Com_stmt_execute"]);
        Assert.Equal(0, after["Com_stmt_prepare"] - before["Com_stmt_prepare"]);
        Assert.Equal(Requests, after["Com_select"] - before["Com_select"]);
        Assert.Equal(0, after["Com_change_db"] - before["Com_change_db"]);
        Assert.Equal(0, after["Com_admin_commands"] - before["Com_admin_commands"]);
        // The only new connection is the one of the mariadb client that read the counters.
        Assert.Equal(1, after["Connections"] - before["Connections"]);
    }

    private async Task<Dictionary<string, long>> ServerCountersAsync()
    {
        var output = await fixture.Database.ExecuteAsync(
            "SHOW GLOBAL STATUS WHERE Variable_name IN "
            + "('Com_select', 'Com_stmt_execute', 'Com_stmt_prepare', 'Com_change_db', 'Com_admin_commands', 'Connections');");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .ToDictionary(fields => fields[0], fields => long.Parse(fields[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
    }
}
