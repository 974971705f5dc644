using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// Describes one served resource (one group/version/plural): its kind, scope, subresources and,
/// for custom resources, the OpenAPI v3 schema used for pruning, defaulting and validation.
/// </summary>
/// <param name="Group">API group; empty for core.</param>
/// <param name="Version">API version.</param>
/// <param name="Plural">Plural resource name (URL segment).</param>
/// <param name="Kind">Kind of the objects.</param>
/// <param name="Namespaced">True for namespaced resources, false for cluster-scoped ones.</param>
public sealed record ResourceType(string Group, string Version, string Plural, string Kind, bool Namespaced)
{
    /// <summary>Singular name (discovery); defaults to the lower-cased kind.</summary>
    public string Singular { get; init; } = Kind.ToLowerInvariant();

    /// <summary>Kind of list responses; defaults to <c>Kind + "List"</c>.</summary>
    public string ListKind { get; init; } = Kind + "List";

    /// <summary>Short names shown in discovery (e.g. <c>deploy</c>).</summary>
    public IReadOnlyList<string> ShortNames { get; init; } = [];

    /// <summary>Categories shown in discovery (e.g. <c>all</c>).</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];

    /// <summary>True when the resource has a <c>/status</c> subresource: the main endpoint then ignores <c>.status</c>.</summary>
    public bool HasStatusSubresource { get; init; }

    /// <summary>True for resources served from a CustomResourceDefinition (list items keep kind/apiVersion).</summary>
    public bool IsCustomResource { get; init; }

    /// <summary>The CRD's <c>openAPIV3Schema</c> (structural schema) for this version, or null.</summary>
    public JsonObject? Schema { get; init; }

    /// <summary>The <c>scale</c> subresource (autoscaling/v1 Scale), or null when the resource has none.</summary>
    public ScaleSubresource? Scale { get; init; }

    /// <summary>A CRD version's <c>additionalPrinterColumns</c> (for <c>Table</c> responses), or null.</summary>
    public JsonArray? PrinterColumns { get; init; }

    /// <summary>The resource as a <see cref="GroupVersionResource"/>.</summary>
    public GroupVersionResource Gvr => new(Group, Version, Plural);

    /// <summary>The <c>apiVersion</c> of objects served by this resource.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>Group-qualified resource as used in error messages, e.g. <c>deployments.apps</c>.</summary>
    public string GroupResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>Group-qualified kind as used in Invalid messages, e.g. <c>UserApi.userapi.example.com</c>.</summary>
    public string QualifiedKind => Group.Length == 0 ? Kind : $"{Kind}.{Group}";
}
