using System.Net.Http.Headers;

namespace UserApiOperator.Runtime.Manager;

/// <summary>
/// Sets the <c>User-Agent</c> of every API request to the operator's name and version, as client-go
/// does with the binary's name: audit logs, API priority and fairness, and the tests' request logs
/// then tell the operator's calls apart (KubernetesClient would otherwise send its own).
/// </summary>
/// <param name="product">Product token, for example <c>userapi-operator</c>.</param>
/// <param name="version">Version token.</param>
public sealed class UserAgentHandler(string product, string version) : DelegatingHandler
{
    private readonly ProductInfoHeaderValue _userAgent = new(product, version);

    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.UserAgent.Clear();
        request.Headers.UserAgent.Add(_userAgent);
        return base.SendAsync(request, cancellationToken);
    }
}
