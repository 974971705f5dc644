using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Models;
using UserApiOperator.Kubernetes.Serialization;

namespace UserApiOperator.Tests.Client;

public sealed class WatchTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private ScriptedApiServer _server = null!;
    private KubernetesClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await ScriptedApiServer.StartAsync();
        _client = new KubernetesClient(new KubernetesClientConfiguration { Server = _server.BaseUri });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private static string Event(string type, string name, string resourceVersion) =>
        "{\"type\":\"" + type + "\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"" + name
        + "\",\"namespace\":\"x\",\"resourceVersion\":\"" + resourceVersion + "\"}}}" + "\n";

    private static async Task Write(HttpContext context, string text)
    {
        await context.Response.WriteAsync(text, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    [Fact]
    public async Task Lines_become_typed_events_including_bookmarks_and_the_query_is_complete()
    {
        _server.Handle(async context =>
        {
            context.Response.ContentType = "application/json";
            await Write(context, Event("ADDED", "a", "11") + Event("MODIFIED", "a", "12") + "\n" + Event("DELETED", "a", "13")
                + """{"type":"BOOKMARK","object":{"kind":"Secret","apiVersion":"v1","metadata":{"resourceVersion":"20"}}}""" + "\n");
        });

        var events = new List<WatchEvent<V1Secret>>();
        await foreach (var watchEvent in _client.WatchAsync<V1Secret>("x", "app=db", "10", CancellationToken.None, timeoutSeconds: 300))
        {
            events.Add(watchEvent);
        }

        Assert.Equal([WatchEventType.Added, WatchEventType.Modified, WatchEventType.Deleted, WatchEventType.Bookmark], events.Select(e => e.Type));
        Assert.Equal(["11", "12", "13", "20"], events.Select(e => e.Object.Metadata.ResourceVersion));
        Assert.Equal("a", events[2].Object.Metadata.Name);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("/api/v1/namespaces/x/secrets", request.Path);
        Assert.Equal("true", request.Query["watch"]);
        Assert.Equal("10", request.Query["resourceVersion"]);
        Assert.Equal("true", request.Query["allowWatchBookmarks"]);
        Assert.Equal("300", request.Query["timeoutSeconds"]);
        Assert.Equal("app=db", request.Query["labelSelector"]);
    }

    [Fact]
    public async Task Options_off_are_left_out_of_the_query()
    {
        _server.Respond(200, "");
        await foreach (var unused in _client.WatchAsync<V1Secret>(null, null, "", CancellationToken.None, allowBookmarks: false))
        {
            Assert.Fail("no events expected");
        }

        var request = Assert.Single(_server.Requests);
        Assert.Equal("/api/v1/secrets", request.Path);
        Assert.Equal(["watch"], request.Query.Keys);
    }

    [Fact]
    public async Task Events_are_delivered_while_the_response_is_still_open()
    {
        var next = new SemaphoreSlim(0);
        _server.Handle(async context =>
        {
            await Write(context, Event("ADDED", "a", "1"));
            await next.WaitAsync(context.RequestAborted);
            var second = Event("MODIFIED", "a", "2");
            await Write(context, second[..20]); // an event split across chunks
            await Write(context, second[20..]);
            await next.WaitAsync(context.RequestAborted);
        });

        await using var events = _client.WatchAsync<V1Secret>("x", null, "0", CancellationToken.None).GetAsyncEnumerator();

        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience));
        Assert.Equal(WatchEventType.Added, events.Current.Type);
        var pending = events.MoveNextAsync().AsTask();
        await Task.Delay(100);
        Assert.False(pending.IsCompleted); // nothing more until the server writes
        next.Release();
        Assert.True(await pending.WaitAsync(Patience));
        Assert.Equal("2", events.Current.Object.Metadata.ResourceVersion);
        next.Release();
        Assert.False(await events.MoveNextAsync().AsTask().WaitAsync(Patience)); // server ended the stream
    }

    [Fact]
    public async Task An_error_event_with_410_throws_gone()
    {
        _server.Handle(async context =>
        {
            await Write(context, Event("ADDED", "a", "1"));
            await Write(context, """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}""" + "\n");
        });

        var seen = new List<WatchEvent<V1Secret>>();
        var error = await Assert.ThrowsAsync<KubernetesGoneException>(async () =>
        {
            await foreach (var watchEvent in _client.WatchAsync<V1Secret>("x", null, "1", CancellationToken.None))
            {
                seen.Add(watchEvent);
            }
        });

        Assert.Single(seen);
        Assert.Equal("Expired", error.Reason);
        Assert.Contains("too old resource version", error.Message, StringComparison.Ordinal);
        Assert.False(KubernetesErrors.IsTransient(error));
    }

    [Fact]
    public async Task Other_error_events_throw_the_matching_api_exception()
    {
        _server.Respond(200, """{"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"internal error","reason":"InternalError","code":500}}""" + "\n");
        var error = await Assert.ThrowsAsync<KubernetesApiException>(async () =>
        {
            await foreach (var unused in _client.WatchAsync<V1Secret>("x", null, "1", CancellationToken.None))
            {
            }
        });
        Assert.Equal(500, error.StatusCode);
        Assert.True(error.IsTransient);
    }

    [Fact]
    public async Task A_410_answer_to_the_watch_request_throws_gone()
    {
        _server.RespondStatus(410, "Expired", "too old resource version");
        await Assert.ThrowsAsync<KubernetesGoneException>(async () =>
        {
            await foreach (var unused in _client.WatchAsync<V1Secret>("x", null, "1", CancellationToken.None))
            {
            }
        });
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_stream_cut_mid_event_is_a_transient_transport_error(bool abortConnection)
    {
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Handle(async context =>
        {
            await Write(context, Event("ADDED", "a", "1"));
            await firstSeen.Task.WaitAsync(Patience);
            await Write(context, Event("MODIFIED", "a", "2")[..30]);
            if (abortConnection)
            {
                context.Abort(); // connection reset: the chunked body never completes
            }
        });

        var seen = 0;
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var unused in _client.WatchAsync<V1Secret>("x", null, "1", CancellationToken.None))
            {
                seen++;
                firstSeen.TrySetResult();
            }
        });

        Assert.Equal(1, seen);
        Assert.True(error is IOException or HttpRequestException, error.ToString());
        Assert.True(KubernetesErrors.IsTransient(error));
    }

    [Fact]
    public async Task Stopping_the_enumeration_closes_the_connection()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Handle(async context =>
        {
            await Write(context, Event("ADDED", "a", "1"));
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                aborted.SetResult();
            }
        });

        await foreach (var unused in _client.WatchAsync<V1Secret>("x", null, "1", CancellationToken.None))
        {
            break;
        }

        await aborted.Task.WaitAsync(Patience);
    }

    [Fact]
    public async Task Cancellation_stops_a_waiting_watch()
    {
        _server.Handle(async context => await Task.Delay(Timeout.Infinite, context.RequestAborted));
        using var cancel = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            await foreach (var unused in _client.WatchAsync<V1Secret>("x", null, "1", cancel.Token))
            {
            }
        });
        await Task.Delay(200);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WaitAsync(Patience));
    }

    [Fact]
    public async Task Hundreds_of_reconnects_leave_no_connection_open()
    {
        var open = 0;
        const int Watches = 200;
        for (var i = 0; i < Watches; i++)
        {
            _server.Handle(async context =>
            {
                Interlocked.Increment(ref open);
                try
                {
                    await Write(context, Event("ADDED", "a", "1"));
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }
                finally
                {
                    Interlocked.Decrement(ref open);
                }
            });
        }

        for (var i = 0; i < Watches; i++)
        {
            await foreach (var unused in _client.WatchAsync<V1Secret>("x", null, "1", CancellationToken.None))
            {
                break;
            }
        }

        var deadline = DateTime.UtcNow + Patience;
        while (Volatile.Read(ref open) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, Volatile.Read(ref open));
        Assert.Equal(Watches, _server.Requests.Count);
    }

    [Fact]
    public void Watch_events_round_trip_through_json_including_errors_and_object_before_type()
    {
        var added = new WatchEvent<V1Secret> { Type = WatchEventType.Added, Object = new V1Secret { Metadata = new V1ObjectMeta { Name = "a" } } };
        var json = KubernetesJson.Serialize(added);
        Assert.StartsWith("""{"type":"ADDED","object":{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"}""", json, StringComparison.Ordinal);
        Assert.Equal("a", KubernetesJson.Deserialize<WatchEvent<V1Secret>>(json).Object.Metadata.Name);

        var error = new WatchEvent<V1Secret> { Type = WatchEventType.Error, Status = new V1Status { Code = 410, Reason = "Expired" } };
        var errorJson = KubernetesJson.Serialize(error);
        Assert.Equal("""{"type":"ERROR","object":{"reason":"Expired","code":410}}""", errorJson);
        var parsed = KubernetesJson.Deserialize<WatchEvent<V1Secret>>(errorJson);
        Assert.Equal(410, parsed.Status!.Code);
        Assert.Null(parsed.Object);

        var reversed = KubernetesJson.Deserialize<WatchEvent<V1Secret>>("""{"object":{"metadata":{"name":"b"}},"type":"MODIFIED"}""");
        Assert.Equal(("b", WatchEventType.Modified), (reversed.Object.Metadata.Name, reversed.Type));

        Assert.Throws<JsonException>(() => KubernetesJson.Deserialize<WatchEvent<V1Secret>>("""{"type":"RENAMED","object":{}}"""));
        Assert.Throws<JsonException>(() => KubernetesJson.Deserialize<WatchEvent<V1Secret>>("""{"type":"ADDED"}"""));
    }

    [Fact]
    public void Event_lines_can_be_written_as_bytes_for_fake_servers()
    {
        var line = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(
            new WatchEvent<V1Secret> { Type = WatchEventType.Bookmark, Object = new V1Secret { Metadata = new V1ObjectMeta { ResourceVersion = "5" } } },
            KubernetesJson.Options));
        Assert.Contains("\"type\":\"BOOKMARK\"", line, StringComparison.Ordinal);
    }
}
