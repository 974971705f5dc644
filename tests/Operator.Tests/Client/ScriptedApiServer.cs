using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using UserApiOperator.Kubernetes.Serialization;

namespace UserApiOperator.Tests.Client;

/// <summary>One request as the scripted server saw it.</summary>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string RawTarget,
    IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    string? ContentType,
    string? ClientCertificateSubject)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A Kestrel server on 127.0.0.1 (free port, HTTP or HTTPS) that records every request and answers
/// from a FIFO script of handlers; an unscripted request gets 599 so tests notice.
/// </summary>
public sealed class ScriptedApiServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<Func<HttpContext, Task>> _script = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly WebApplication _app;

    private ScriptedApiServer(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    public static async Task<ScriptedApiServer> StartAsync(X509Certificate2? serverCertificate = null, bool requireClientCertificate = false)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (serverCertificate is not null)
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = serverCertificate,
                    ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
                    ClientCertificateValidation = (_, _, _) => true,
                });
            }
        }));
        var app = builder.Build();
        var server = new ScriptedApiServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.GetRequiredFeature<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>().Addresses.Single();
        server.BaseUri = new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    /// <summary>Scripts the next answer: a status code and a body.</summary>
    public void Respond(int statusCode, string? body = null, string contentType = "application/json", IDictionary<string, string>? headers = null) =>
        Handle(async context =>
        {
            context.Response.StatusCode = statusCode;
            foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            {
                context.Response.Headers[name] = value;
            }

            if (body is not null)
            {
                context.Response.ContentType = contentType;
                await context.Response.WriteAsync(body);
            }
        });

    /// <summary>Scripts the next answer: an object in the Kubernetes wire format.</summary>
    public void RespondJson(int statusCode, object body) => Respond(statusCode, KubernetesJson.Serialize(body));

    /// <summary>Scripts the next answer: a Kubernetes Status body.</summary>
    public void RespondStatus(int code, string reason, string message, IDictionary<string, string>? headers = null, string? details = null) =>
        Respond(
            code,
            $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"{{message}}","reason":"{{reason}}","code":{{code}}{{(details is null ? "" : ",\"details\":" + details)}}}""",
            headers: headers);

    /// <summary>Scripts the next answer with a custom handler (streams, delays).</summary>
    public void Handle(Func<HttpContext, Task> handler) => _script.Enqueue(handler);

    public async ValueTask DisposeAsync()
    {
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stopping.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        _requests.Enqueue(new RecordedRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "",
            context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget,
            context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString()),
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body,
            context.Request.ContentType,
            context.Connection.ClientCertificate?.Subject));
        if (_script.TryDequeue(out var handler))
        {
            await handler(context);
        }
        else
        {
            context.Response.StatusCode = 599;
            await context.Response.WriteAsync("unscripted request");
        }
    }
}
