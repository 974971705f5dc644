using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>Small HTTP helpers: every call goes over real HTTP to the fake.</summary>
internal static class KubeHttp
{
    public static async Task<(HttpStatusCode Code, JsonObject Body)> SendAsync(this HttpClient http, HttpMethod method, string path,
        string? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, (JsonObject)JsonNode.Parse(text)!);
    }

    public static Task<(HttpStatusCode Code, JsonObject Body)> GetJsonAsync(this HttpClient http, string path) =>
        http.SendAsync(HttpMethod.Get, path);

    public static Task<(HttpStatusCode Code, JsonObject Body)> PostJsonAsync(this HttpClient http, string path, JsonNode body) =>
        http.SendAsync(HttpMethod.Post, path, body.ToJsonString());

    public static Task<(HttpStatusCode Code, JsonObject Body)> PutJsonAsync(this HttpClient http, string path, JsonNode body) =>
        http.SendAsync(HttpMethod.Put, path, body.ToJsonString());

    public static Task<(HttpStatusCode Code, JsonObject Body)> MergePatchAsync(this HttpClient http, string path, JsonNode patch) =>
        http.SendAsync(HttpMethod.Patch, path, patch.ToJsonString(), "application/merge-patch+json");

    public static Task<(HttpStatusCode Code, JsonObject Body)> ApplyAsync(this HttpClient http, string path, string yamlOrJson,
        string manager = "test-manager", bool force = false) =>
        http.SendAsync(HttpMethod.Patch, $"{path}?fieldManager={manager}{(force ? "&force=true" : "")}", yamlOrJson, "application/apply-patch+yaml");

    public static Task<(HttpStatusCode Code, JsonObject Body)> DeleteJsonAsync(this HttpClient http, string path) =>
        http.SendAsync(HttpMethod.Delete, path);

    public static JsonObject Parse(string json) => (JsonObject)JsonNode.Parse(json)!;

    public static string Rv(this JsonObject obj) => obj["metadata"]!["resourceVersion"]!.GetValue<string>();

    public static long Generation(this JsonObject obj) => obj["metadata"]!["generation"]!.GetValue<long>();

    public static string? Str(this JsonNode? node) => node?.GetValue<string>();

    public static JsonObject ConfigMap(string name, string ns = "default", JsonObject? data = null, JsonObject? labels = null)
    {
        var meta = new JsonObject { ["name"] = name, ["namespace"] = ns };
        if (labels is not null) meta["labels"] = labels;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = meta,
            ["data"] = data ?? new JsonObject { ["k"] = "v" },
        };
    }

    public static void AssertStatus(JsonObject body, int code, string reason)
    {
        Assert.Equal("Status", body["kind"].Str());
        Assert.Equal("v1", body["apiVersion"].Str());
        Assert.Equal("Failure", body["status"].Str());
        Assert.Equal(reason, body["reason"].Str());
        Assert.Equal(code, body["code"]!.GetValue<int>());
    }
}
