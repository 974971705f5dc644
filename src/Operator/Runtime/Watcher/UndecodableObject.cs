namespace UserApiOperator.Runtime.Watcher;

/// <summary>
/// An object the API server serves but the operator's types cannot read (a field of another JSON
/// type than the type declares, as an older CRD or a hand edit can leave behind). The informer skips
/// it, so that it cannot stop the watch of every other object of its kind, and reports it once per
/// resource version through <see cref="InformerCache.Undecodable"/>.
/// </summary>
/// <param name="Kind">Kind, for example <c>UserApi</c>.</param>
/// <param name="ApiVersion">The object's <c>apiVersion</c>, as served.</param>
/// <param name="Namespace">Namespace, or null when the metadata itself is unreadable or the kind is cluster-scoped.</param>
/// <param name="Name">Name, or null when the metadata itself is unreadable.</param>
/// <param name="Uid">UID, or null.</param>
/// <param name="ResourceVersion">Resource version, or null.</param>
/// <param name="Error">What failed to decode (the JSON path and the expected type).</param>
public sealed record UndecodableObject(string Kind, string ApiVersion, string? Namespace, string? Name, string? Uid, string? ResourceVersion, string Error)
{
    /// <summary><c>namespace/name</c>, <c>name</c>, or <c>(unnamed)</c>.</summary>
    public string Key => Name is null ? "(unnamed)" : Namespace is null ? Name : $"{Namespace}/{Name}";
}
