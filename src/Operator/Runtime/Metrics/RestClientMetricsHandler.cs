namespace UserApiOperator.Runtime.Metrics;

/// <summary>
/// Counts every request KubernetesClient sends, as client-go's <c>rest_client_requests_total{code,method,host}</c>:
/// passed to <c>new Kubernetes(config, handlers)</c>, it sits in the client's HTTP pipeline. A watch is
/// counted when its response headers arrive; a request without response (connection refused,
/// timeout, cancellation) is counted with code <c>&lt;error&gt;</c>. Tests and the benchmark read the
/// same counts through <see cref="Observed"/>.
/// </summary>
/// <param name="metrics">Where the counts go.</param>
public sealed class RestClientMetricsHandler(OperatorMetrics metrics) : DelegatingHandler
{
    /// <summary>Called after each request with method, path and status code (null without a response); for tests and diagnostics.</summary>
    public event Action<HttpMethod, string, int?>? Observed;

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var host = request.RequestUri?.Authority ?? "";
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            metrics.RequestCompleted(code.ToString(System.Globalization.CultureInfo.InvariantCulture), request.Method.Method, host);
            Observed?.Invoke(request.Method, request.RequestUri?.AbsolutePath ?? "", code);
            return response;
        }
        catch (Exception)
        {
            metrics.RequestCompleted("<error>", request.Method.Method, host);
            Observed?.Invoke(request.Method, request.RequestUri?.AbsolutePath ?? "", null);
            throw;
        }
    }
}
