namespace KubeApiFake;

/// <summary>
/// Storage key of one object: group, plural resource, namespace ("" for cluster-scoped) and name.
/// Storage is version-agnostic like etcd behind a real API server: a custom resource served in
/// several versions (conversion strategy None) is one object, shown with the requested apiVersion.
/// </summary>
/// <param name="Group">API group; empty for core.</param>
/// <param name="Resource">Plural resource name.</param>
/// <param name="Namespace">Namespace, or empty for cluster-scoped objects.</param>
/// <param name="Name">Object name.</param>
public readonly record struct ResourceKey(string Group, string Resource, string Namespace, string Name)
{
    /// <summary>Orders keys like etcd orders its keys: by group, resource, namespace, then name.</summary>
    public static IComparer<ResourceKey> Order { get; } = Comparer<ResourceKey>.Create(static (a, b) =>
    {
        var c = string.CompareOrdinal(a.Group, b.Group);
        if (c != 0) return c;
        c = string.CompareOrdinal(a.Resource, b.Resource);
        if (c != 0) return c;
        c = string.CompareOrdinal(a.Namespace, b.Namespace);
        return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
    });

    /// <inheritdoc />
    public override string ToString()
    {
        var gr = Group.Length == 0 ? Resource : $"{Resource}.{Group}";
        return Namespace.Length == 0 ? $"{gr}/{Name}" : $"{gr}/{Namespace}/{Name}";
    }
}
