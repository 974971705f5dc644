namespace KubeApiFake;

/// <summary>What a request path addresses.</summary>
internal enum RouteKind
{
    NotFound,
    Version,
    Health,
    ApiVersions,
    GroupList,
    Group,
    ResourceList,
    Resource,
    OpenApiRoot,
    OpenApiDocument,
}

/// <summary>
/// A parsed Kubernetes REST path: <c>/api/v1/...</c> or <c>/apis/{group}/{version}/...</c>, then
/// <c>[watch/]</c>, <c>[namespaces/{ns}/]{plural}[/{name}[/{subresource}]]</c>.
/// </summary>
internal sealed record ApiRoute(RouteKind Kind, string Group = "", string Version = "", string? Namespace = null,
    string? Resource = null, string? Name = null, string? Subresource = null, bool LegacyWatch = false)
{
    public static ApiRoute Parse(string path)
    {
        var segs = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segs.Length == 0) return new ApiRoute(RouteKind.NotFound);
        string group;
        string version;
        string[] rest;
        switch (segs[0])
        {
            case "version" when segs.Length == 1:
                return new ApiRoute(RouteKind.Version);
            case "healthz" or "livez" or "readyz":
                return new ApiRoute(RouteKind.Health);
            case "openapi" when segs.Length >= 2 && segs[1] == "v3":
                return segs.Length switch
                {
                    2 => new ApiRoute(RouteKind.OpenApiRoot),
                    4 when segs[2] == "api" => new ApiRoute(RouteKind.OpenApiDocument, "", segs[3]),
                    5 when segs[2] == "apis" => new ApiRoute(RouteKind.OpenApiDocument, segs[3], segs[4]),
                    _ => new ApiRoute(RouteKind.NotFound),
                };
            case "api":
                if (segs.Length == 1) return new ApiRoute(RouteKind.ApiVersions);
                (group, version, rest) = ("", segs[1], segs[2..]);
                break;
            case "apis":
                if (segs.Length == 1) return new ApiRoute(RouteKind.GroupList);
                if (segs.Length == 2) return new ApiRoute(RouteKind.Group, segs[1]);
                (group, version, rest) = (segs[1], segs[2], segs[3..]);
                break;
            default:
                return new ApiRoute(RouteKind.NotFound);
        }
        if (rest.Length == 0) return new ApiRoute(RouteKind.ResourceList, group, version);
        var watch = false;
        if (rest[0] == "watch")
        {
            watch = true;
            rest = rest[1..];
            if (rest.Length == 0) return new ApiRoute(RouteKind.NotFound);
        }
        var namespacedForm = rest[0] == "namespaces" && rest.Length >= 3
            && !(group.Length == 0 && rest.Length == 3 && rest[2] is "status" or "finalize");
        if (namespacedForm)
        {
            if (rest.Length > 5) return new ApiRoute(RouteKind.NotFound);
            return new ApiRoute(RouteKind.Resource, group, version, rest[1], rest[2],
                rest.Length > 3 ? rest[3] : null, rest.Length > 4 ? rest[4] : null, watch);
        }
        if (rest.Length > 3) return new ApiRoute(RouteKind.NotFound);
        return new ApiRoute(RouteKind.Resource, group, version, null, rest[0],
            rest.Length > 1 ? rest[1] : null, rest.Length > 2 ? rest[2] : null, watch);
    }
}
