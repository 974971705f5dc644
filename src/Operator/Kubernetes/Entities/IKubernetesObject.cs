using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Kubernetes.Entities;

/// <summary>
/// Any Kubernetes object: <c>apiVersion</c>, <c>kind</c> and standard object metadata, the shape
/// every REST resource shares (Kubernetes API conventions, "Objects").
/// </summary>
public interface IKubernetesObject
{
    /// <summary><c>group/version</c>, or <c>v1</c> for the core group.</summary>
    string? ApiVersion { get; set; }

    /// <summary>Kind, for example <c>Secret</c>.</summary>
    string? Kind { get; set; }

    /// <summary>Standard object metadata.</summary>
    V1ObjectMeta Metadata { get; set; }
}

/// <summary>An object with a <c>spec</c> (desired state).</summary>
/// <typeparam name="TSpec">Spec type.</typeparam>
public interface ISpec<TSpec>
{
    /// <summary>Desired state.</summary>
    TSpec Spec { get; set; }
}

/// <summary>An object with a <c>status</c> (observed state), written through the <c>/status</c> subresource.</summary>
/// <typeparam name="TStatus">Status type.</typeparam>
public interface IStatus<TStatus>
{
    /// <summary>Observed state; null before the first status write.</summary>
    TStatus? Status { get; set; }
}
