namespace UserApiOperator.Kubernetes.Crd;

/// <summary>
/// One invalid field, as the API server reports it in a <c>Status</c> cause: the field path
/// (<c>spec.ingress.host</c>, <c>spec.api.resources.limits[cpu]</c>) and what is wrong with it.
/// </summary>
/// <param name="Field">Dotted path of the field, with <c>[index]</c> or <c>[key]</c> for list items and map entries.</param>
/// <param name="Message">What is wrong, for example <c>must be at most 100, got 500</c>.</param>
public sealed record FieldError(string Field, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Field}: {Message}";
}
