using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>Reads a watch response line by line, like a client-go reflector would.</summary>
internal sealed class WatchStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;
    private Task<string?>? _pending;

    private WatchStream(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    public static async Task<WatchStream> OpenAsync(HttpClient http, string pathAndQuery)
    {
        var response = await http.GetAsync(pathAndQuery, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.TransferEncodingChunked);
        var stream = await response.Content.ReadAsStreamAsync();
        return new WatchStream(response, new StreamReader(stream));
    }

    /// <summary>Next event, or null when the server ended the stream cleanly.</summary>
    public async Task<JsonObject?> NextOrEndAsync(TimeSpan? timeout = null)
    {
        _pending ??= _reader.ReadLineAsync();
        var line = await _pending.WaitAsync(timeout ?? TimeSpan.FromSeconds(10));
        _pending = null;
        return line is null ? null : (JsonObject)JsonNode.Parse(line)!;
    }

    public async Task<JsonObject> NextAsync(TimeSpan? timeout = null) =>
        await NextOrEndAsync(timeout) ?? throw new InvalidOperationException("watch stream ended");

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
