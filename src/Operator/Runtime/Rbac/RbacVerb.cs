namespace UserApiOperator.Runtime.Rbac;

/// <summary>
/// The verbs of Kubernetes RBAC for resource requests, as kube-apiserver derives them from a request
/// (<c>staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go</c>): <c>GET</c> of one
/// object is <see cref="Get"/>, of a collection <see cref="List"/>, with <c>?watch=true</c>
/// <see cref="Watch"/>; <c>POST</c> is <see cref="Create"/>; <c>PUT</c> <see cref="Update"/>;
/// <c>PATCH</c> <see cref="Patch"/> (and also <see cref="Create"/> when the patch, a server-side apply
/// for example, creates the object: <c>endpoints/handlers/patch.go</c>); <c>DELETE</c> of one object
/// <see cref="Delete"/>, of a collection <see cref="DeleteCollection"/>.
/// </summary>
[Flags]
public enum RbacVerb
{
    /// <summary>No verb.</summary>
    None = 0,

    /// <summary><c>get</c>: read one object.</summary>
    Get = 1 << 0,

    /// <summary><c>list</c>: read a collection.</summary>
    List = 1 << 1,

    /// <summary><c>watch</c>: stream changes of a collection or object.</summary>
    Watch = 1 << 2,

    /// <summary><c>create</c>: POST, or a PATCH that creates.</summary>
    Create = 1 << 3,

    /// <summary><c>update</c>: PUT.</summary>
    Update = 1 << 4,

    /// <summary><c>patch</c>: PATCH (merge, strategic merge, JSON patch, server-side apply).</summary>
    Patch = 1 << 5,

    /// <summary><c>delete</c>: DELETE of one object.</summary>
    Delete = 1 << 6,

    /// <summary><c>deletecollection</c>: DELETE of a collection.</summary>
    DeleteCollection = 1 << 7,
}
