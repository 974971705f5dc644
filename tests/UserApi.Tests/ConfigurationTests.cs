using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MySql.Data.MySqlClient;
using UserApiService.Data;
using UserApiService.Hosting;

namespace UserApiService.Tests;

/// <summary>Settings from the environment / command line, listening address, connection string.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public async Task Mysql_settings_bind_from_configuration_keys()
    {
        await using var app = UserApiApplication.Build(
        [
            "--urls=http://127.0.0.1:0", "--MYSQL_HOST=db.example", "--MYSQL_PORT=3307", "--MYSQL_USER=reader",
            "--MYSQL_PASSWORD=s3cr;et'", "--MYSQL_DATABASE=Other", "--MYSQL_MAX_POOL_SIZE=7",
        ]);
        var options = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        Assert.Equal("db.example", options.Host);
        Assert.Equal(3307, options.Port);
        Assert.Equal("reader", options.User);
        Assert.Equal("s3cr;et'", options.Password);
        Assert.Equal("Other", options.Database);
        Assert.Equal(7, app.Services.GetRequiredService<DatabaseGate>().Capacity);
    }

    [Fact]
    public void Defaults_match_the_design()
    {
        var options = new DatabaseOptions();
        Assert.Equal(("127.0.0.1", 3306, "root", string.Empty, "Main"), (options.Host, options.Port, options.User, options.Password, options.Database));
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Default_pool_size_is_four_per_processor_between_8_and_32()
    {
        Assert.Equal(Math.Clamp(4 * Environment.ProcessorCount, 8, 32), new DatabaseOptions().MaxPoolSize);
        Assert.InRange(DatabaseOptions.DefaultMaxPoolSize, 8, 32);
    }

    [Fact]
    public void Connection_string_is_utf8mb4_unpooled_and_keeps_the_password_intact()
    {
        var options = new DatabaseOptions { Host = "h", Port = 3310, User = "u", Password = "p;w'd=\"x", Database = "Main", MaxPoolSize = 9 };
        var parsed = new MySqlConnectionStringBuilder(options.BuildConnectionString());
        // The service's ConnectionPool keeps connections open; MySql.Data's pool would ping and
        // re-select the database on every Open.
        Assert.False(parsed.Pooling);
        Assert.Equal("utf8mb4", parsed.CharacterSet);
        Assert.Equal("p;w'd=\"x", parsed.Password);
        Assert.Equal(("h", 3310u, "u", "Main"), (parsed.Server, parsed.Port, parsed.UserID, parsed.Database));
    }

    [Theory]
    [InlineData("--MYSQL_PORT=0", "MYSQL_PORT")]
    [InlineData("--MYSQL_PORT=70000", "MYSQL_PORT")]
    [InlineData("--MYSQL_HOST= ", "MYSQL_HOST")]
    [InlineData("--MYSQL_DATABASE=", "MYSQL_DATABASE")]
    [InlineData("--MYSQL_MAX_POOL_SIZE=0", "MYSQL_MAX_POOL_SIZE")]
    public void Invalid_settings_stop_the_start_up_naming_the_variable(string argument, string variable)
    {
        var error = Assert.Throws<OptionsValidationException>(() => UserApiApplication.Build(["--urls=http://127.0.0.1:0", argument]));
        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listens_on_0_0_0_0_port_8000_unless_urls_are_configured()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("ASPNETCORE_URLS");
        await using (var app = UserApiApplication.Build([]))
        {
            Assert.Equal(fromEnvironment ?? "http://0.0.0.0:8000", app.Configuration[WebHostDefaults.ServerUrlsKey]);
        }

        await using var configured = UserApiApplication.Build(["--urls=http://127.0.0.1:18001"]);
        Assert.Equal("http://127.0.0.1:18001", configured.Configuration[WebHostDefaults.ServerUrlsKey]);
    }
}
