using System.Net;
using System.Text;
using System.Text.Json;
using UserApiService.Tests.Infrastructure;

namespace UserApiService.Tests;

/// <summary>The HTTP contract of DESIGN.md section 4, over real HTTP against a real MariaDB.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class ApiContractTests(MariaDbFixture fixture)
{
    private const string ValidationMessage = "Input should be a valid integer, unable to parse string as an integer";

    private HttpClient Client => fixture.Api.Client;

    [Fact]
    public async Task Status_is_json_1()
    {
        using var response = await Client.GetAsync("/status");
        await HttpAssert.ExactJsonAsync(response, HttpStatusCode.OK, "1");
    }

    [Fact]
    public async Task Users_lists_every_row_of_the_table_in_user_id_order()
    {
        var expected = (await fixture.Database.ExecuteAsync("SELECT user_id, username, email FROM Users ORDER BY user_id", "Main"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .Select(columns => (Id: int.Parse(columns[0], System.Globalization.CultureInfo.InvariantCulture), Name: columns[1], Email: columns[2]))
            .ToList();
        Assert.Equal(MariaDbFixture.SeedRowCount, expected.Count);

        using var response = await Client.GetAsync("/users");
        var body = await HttpAssert.JsonBodyAsync(response, HttpStatusCode.OK);
        using var document = JsonDocument.Parse(body);
        var users = document.RootElement.EnumerateArray().ToList();

        Assert.Equal(expected.Count, users.Count);
        for (var i = 0; i < users.Count; i++)
        {
            var properties = users[i].EnumerateObject().ToList();
            Assert.Equal(["user_id", "username", "email"], properties.Select(p => p.Name));
            Assert.Equal(JsonValueKind.Number, properties[0].Value.ValueKind);
            Assert.Equal(expected[i].Id, properties[0].Value.GetInt32());
            Assert.Equal(expected[i].Name, properties[1].Value.GetString());
            Assert.Equal(expected[i].Email, properties[2].Value.GetString());
        }

        Assert.Equal(Enumerable.Range(1, MariaDbFixture.SeedRowCount), users.Select(u => u.GetProperty("user_id").GetInt32()));
    }

    [Fact]
    public async Task Users_writes_non_ascii_names_as_raw_utf8_without_escapes()
    {
        using var response = await Client.GetAsync("/users");
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var text = Encoding.UTF8.GetString(bytes);
        Assert.DoesNotContain("\\u", text, StringComparison.Ordinal);
        foreach (var fragment in new[]
                 {
                     """{"user_id":4,"username":"Zoë","email":"zoe@example.com"}""",
                     """{"user_id":5,"username":"José","email":"jose@example.com"}""",
                     """{"user_id":6,"username":"Łukasz","email":"lukasz@example.com"}""",
                     """{"user_id":7,"username":"Ærøskøbing","email":"aeroskobing@example.com"}""",
                     """{"user_id":8,"username":"渡辺","email":"watanabe@example.com"}""",
                     """{"user_id":9,"username":"Дмитрий","email":"dmitry@example.com"}""",
                     """{"user_id":37,"username":"Chloé 🎉","email":"chloe@example.com"}""",
                     """{"user_id":38,"username":"O'Brien","email":"obrien@example.com"}""",
                 })
        {
            var needle = Encoding.UTF8.GetBytes(fragment);
            Assert.True(bytes.AsSpan().IndexOf(needle) >= 0, $"body lacks the UTF-8 bytes of {fragment}");
        }

        Assert.StartsWith("""[{"user_id":1,"username":"Alice","email":"alice@example.com"},""", text, StringComparison.Ordinal);
        Assert.EndsWith("""{"user_id":40,"username":"Henry","email":"henry@example.com"}]""", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1", """{"user_id":1,"username":"Alice","email":"alice@example.com"}""")]
    [InlineData("4", """{"user_id":4,"username":"Zoë","email":"zoe@example.com"}""")]
    [InlineData("8", """{"user_id":8,"username":"渡辺","email":"watanabe@example.com"}""")]
    [InlineData("37", """{"user_id":37,"username":"Chloé 🎉","email":"chloe@example.com"}""")]
    // FastAPI (pydantic) accepts these spellings of an integer too.
    [InlineData("007", """{"user_id":7,"username":"Ærøskøbing","email":"aeroskobing@example.com"}""")]
    [InlineData("+9", """{"user_id":9,"username":"Дмитрий","email":"dmitry@example.com"}""")]
    [InlineData("%209%20", """{"user_id":9,"username":"Дмитрий","email":"dmitry@example.com"}""")]
    [InlineData("5.00", """{"user_id":5,"username":"José","email":"jose@example.com"}""")]
    [InlineData("1_0", """{"user_id":10,"username":"Diana","email":"diana@example.com"}""")]
    public async Task User_by_id_returns_that_user(string id, string expectedBody)
    {
        using var response = await Client.GetAsync($"/users/{id}");
        await HttpAssert.ExactJsonAsync(response, HttpStatusCode.OK, expectedBody);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("41")]
    [InlineData("-1")]
    [InlineData("-2147483648")]
    [InlineData("2147483647")]
    [InlineData("2147483648")] // 2^31
    [InlineData("4294967296")] // 2^32
    [InlineData("9223372036854775807")] // 2^63 - 1
    [InlineData("-9223372036854775808")] // -2^63
    [InlineData("9223372036854775808")] // 2^63
    [InlineData("123456789012345678901234567890")] // 30 digits
    [InlineData("-123456789012345678901234567890")]
    public async Task User_by_id_answers_404_for_any_integer_without_a_row(string id)
    {
        using var response = await Client.GetAsync($"/users/{id}");
        await HttpAssert.ExactJsonAsync(response, HttpStatusCode.NotFound, """{"detail":"Unknown User ID"}""");
    }

    [Fact]
    public async Task User_by_id_answers_404_for_a_4300_digit_integer()
    {
        using var response = await Client.GetAsync("/users/" + new string('9', 4300));
        await HttpAssert.ExactJsonAsync(response, HttpStatusCode.NotFound, """{"detail":"Unknown User ID"}""");
    }

    [Fact]
    public async Task User_by_id_answers_422_in_fastapi_shape_for_abc()
    {
        using var response = await Client.GetAsync("/users/abc");
        await HttpAssert.ExactJsonAsync(
            response,
            HttpStatusCode.UnprocessableEntity,
            """{"detail":[{"type":"int_parsing","loc":["path","user_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}""");
    }

    [Theory]
    [InlineData("1.5", "1.5")]
    [InlineData("1e3", "1e3")]
    [InlineData("0x10", "0x10")]
    [InlineData("1__0", "1__0")]
    [InlineData("_1", "_1")]
    [InlineData("1.", "1.")]
    [InlineData("--1", "--1")]
    [InlineData("%C3%A9", "é")]
    [InlineData("%E6%B8%A1", "渡")]
    public async Task User_by_id_answers_422_with_the_decoded_input_for_non_integers(string pathSegment, string input)
    {
        using var response = await Client.GetAsync($"/users/{pathSegment}");
        var expected = JsonSerializer.Serialize(new { type = "int_parsing", loc = new[] { "path", "user_id" }, msg = ValidationMessage, input });
        var body = await HttpAssert.JsonBodyAsync(response, HttpStatusCode.UnprocessableEntity);
        using var actual = JsonDocument.Parse(body);
        using var wanted = JsonDocument.Parse(expected);
        Assert.True(JsonElement.DeepEquals(wanted.RootElement, actual.RootElement.GetProperty("detail")[0]), body);
        Assert.Equal(1, actual.RootElement.GetProperty("detail").GetArrayLength());
        Assert.DoesNotContain("\\u", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_by_id_answers_422_int_parsing_size_beyond_4300_digits()
    {
        var id = new string('1', 4301);
        using var response = await Client.GetAsync($"/users/{id}");
        var body = await HttpAssert.JsonBodyAsync(response, HttpStatusCode.UnprocessableEntity);
        using var document = JsonDocument.Parse(body);
        var error = document.RootElement.GetProperty("detail")[0];
        Assert.Equal("int_parsing_size", error.GetProperty("type").GetString());
        Assert.Equal("Unable to parse input string as an integer, exceeded maximum size", error.GetProperty("msg").GetString());
        Assert.Equal(id, error.GetProperty("input").GetString());
    }

    [Theory]
    [InlineData("1%20OR%201%3D1", "1 OR 1=1")]
    [InlineData("1%3BDROP%20TABLE%20Users", "1;DROP TABLE Users")]
    [InlineData("1%3B%20DROP%20TABLE%20Users%3B--", "1; DROP TABLE Users;--")]
    [InlineData("1%27--", "1'--")]
    [InlineData("1%27%20OR%20%271%27%3D%271", "1' OR '1'='1")]
    public async Task Sql_injection_attempts_are_422_and_leave_the_table_intact(string pathSegment, string input)
    {
        using var response = await Client.GetAsync($"/users/{pathSegment}");
        var body = await HttpAssert.JsonBodyAsync(response, HttpStatusCode.UnprocessableEntity);
        using var document = JsonDocument.Parse(body);
        Assert.Equal(input, document.RootElement.GetProperty("detail")[0].GetProperty("input").GetString());

        Assert.Equal("40", (await fixture.Database.ExecuteAsync("SELECT COUNT(*) FROM Users", "Main")).Trim());
        using var users = await Client.GetAsync("/users");
        using var list = JsonDocument.Parse(await HttpAssert.JsonBodyAsync(users, HttpStatusCode.OK));
        Assert.Equal(MariaDbFixture.SeedRowCount, list.RootElement.GetArrayLength());
    }

    [Theory]
    [InlineData("/nope")]
    [InlineData("/users/1/extra")]
    [InlineData("/status/1")]
    [InlineData("/Users%2F1")]
    [InlineData("/Users")] // paths are case-sensitive, as in FastAPI
    [InlineData("/USERS/1")]
    [InlineData("/Status")]
    public async Task Unknown_path_is_404_not_found_json(string path)
    {
        using var response = await Client.GetAsync(path);
        await HttpAssert.ExactJsonAsync(response, HttpStatusCode.NotFound, """{"detail":"Not Found"}""");
    }

    [Theory]
    [InlineData("POST", "/users")]
    [InlineData("DELETE", "/users/1")]
    [InlineData("PUT", "/users/1")]
    [InlineData("PATCH", "/status")]
    [InlineData("POST", "/ready")]
    public async Task Wrong_method_is_405_with_allow_header(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}") };
        using var response = await Client.SendAsync(request);
        await HttpAssert.ExactJsonAsync(response, HttpStatusCode.MethodNotAllowed, """{"detail":"Method Not Allowed"}""");
        Assert.Equal(["GET"], response.Content.Headers.Allow);
    }

    [Fact]
    public async Task Docs_serves_the_swagger_ui_page()
    {
        using var redirect = await Client.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.MovedPermanently, redirect.StatusCode);
        Assert.Equal("docs/index.html", redirect.Headers.Location?.OriginalString);

        using var page = await Client.GetAsync(new Uri(new Uri(Client.BaseAddress!, "/docs"), redirect.Headers.Location!));
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("swagger-ui", html, StringComparison.Ordinal);

        // The page's script points Swagger UI at /openapi.json, relative to /docs/index.html.
        using var script = await Client.GetAsync("/docs/index.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("\"../openapi.json\"", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Openapi_json_names_the_three_endpoints()
    {
        using var response = await Client.GetAsync("/openapi.json");
        var body = await HttpAssert.JsonBodyAsync(response, HttpStatusCode.OK);
        using var document = JsonDocument.Parse(body);
        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);

        var paths = document.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/status", "/users", "/users/{user_id}" })
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"openapi.json lacks {path}");
            Assert.True(item.TryGetProperty("get", out _), $"{path} lacks GET");
        }

        var parameter = paths.GetProperty("/users/{user_id}").GetProperty("get").GetProperty("parameters")[0];
        Assert.Equal("user_id", parameter.GetProperty("name").GetString());
        Assert.Equal("path", parameter.GetProperty("in").GetString());
        Assert.Equal("integer", parameter.GetProperty("schema").GetProperty("type").GetString());

        var user = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("User").GetProperty("properties");
        Assert.Equal(["user_id", "username", "email"], user.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Ready_is_200_while_the_database_answers()
    {
        using var response = await Client.GetAsync("/ready");
        await HttpAssert.ExactJsonAsync(response, HttpStatusCode.OK, """{"status":"ready"}""");
    }
}
