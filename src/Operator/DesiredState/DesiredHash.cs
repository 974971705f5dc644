using k8s;
using k8s.Models;
using System.Security.Cryptography;
using System.Text;

namespace UserApiOperator.DesiredState;

/// <summary>
/// The <c>userapi.example.com/desired-hash</c> annotation: a digest of an applied object's desired
/// state, so that <c>kubectl get -o yaml</c> and <c>render</c> show which desired state an object was
/// last applied from. Whether an apply is needed is decided from the fields the operator owns
/// (<see cref="Runtime.Client.AppliedConfiguration"/>), of which this annotation is one.
/// </summary>
public static class DesiredHash
{
    /// <summary>Annotation key.</summary>
    public const string Annotation = "userapi.example.com/desired-hash";

    /// <summary>
    /// Sets the annotation on <paramref name="obj"/>: the first 16 hex digits of the SHA-256 of its
    /// JSON without the annotation. Returns the same object.
    /// </summary>
    public static T Stamp<T>(T obj)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        obj.Metadata.Annotations?.Remove(Annotation);
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(k8s.KubernetesJson.Serialize(obj)));
        obj.Metadata.Annotations ??= new Dictionary<string, string>();
        obj.Metadata.Annotations[Annotation] = Convert.ToHexStringLower(digest)[..16];
        return obj;
    }
}
