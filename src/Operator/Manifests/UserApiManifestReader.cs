using System.Text.Json;
using System.Text.Json.Nodes;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Serialization;
using UserApiOperator.Validation;

namespace UserApiOperator.Manifests;

/// <summary>
/// Reads UserApi objects from a YAML manifest file (one or more documents, as for
/// <c>kubectl apply -f</c>), checking each the way the API server would: apiVersion and kind,
/// a valid name, and the CRD schema (types, bounds, patterns, unknown fields). Defaults are
/// those of the CRD schema.
/// </summary>
public static class UserApiManifestReader
{
    /// <summary>Reads every UserApi in <paramref name="path"/>.</summary>
    /// <exception cref="ManifestException">Missing or unreadable file, malformed YAML, a document that is not a UserApi, or an invalid field; the message is one line naming the file.</exception>
    public static IReadOnlyList<V1Alpha1UserApi> ReadFile(string path)
    {
        if (Directory.Exists(path))
        {
            throw new ManifestException($"{path}: is a directory, not a file");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message;
            throw new ManifestException($"{path}: {reason}", e);
        }

        return Read(text, path);
    }

    /// <summary>Reads every UserApi in <paramref name="yaml"/>; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="ManifestException">Malformed YAML, no document, a document that is not a UserApi, or an invalid field.</exception>
    public static IReadOnlyList<V1Alpha1UserApi> Read(string yaml, string source)
    {
        IReadOnlyList<JsonNode?> documents;
        try
        {
            documents = YamlJson.ParseDocuments(yaml);
        }
        catch (YamlFormatException e)
        {
            throw new ManifestException($"{source}: not valid YAML: {e.Message}", e);
        }

        if (documents.Count == 0)
        {
            throw new ManifestException($"{source}: no YAML document in the file");
        }

        return documents.Select((document, index) => ReadDocument(document, $"{source}: document {index + 1}")).ToList();
    }

    private static V1Alpha1UserApi ReadDocument(JsonNode? document, string where)
    {
        var expected = (Kind: V1Alpha1UserApi.KindName, GroupVersion: V1Alpha1UserApi.GroupVersion);
        if (document is not JsonObject obj)
        {
            throw new ManifestException($"{where}: expected a {expected.Kind} object, got {(document is JsonArray ? "a list" : "a scalar")}");
        }

        var apiVersion = obj["apiVersion"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        var kind = obj["kind"] is JsonValue k && k.GetValueKind() == JsonValueKind.String ? k.GetValue<string>() : null;
        if (apiVersion != expected.GroupVersion || kind != expected.Kind)
        {
            var actual = apiVersion is null && kind is null ? "an object without apiVersion and kind" : $"{apiVersion ?? "(no apiVersion)"} {kind ?? "(no kind)"}";
            throw new ManifestException($"{where}: is {actual}, not a {expected.GroupVersion} {expected.Kind}");
        }

        if (obj["metadata"] is not JsonObject metadata)
        {
            throw new ManifestException($"{where}: metadata: is required (with a name)");
        }

        var name = metadata["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : null;
        var errors = UserApiValidator.ValidateName(name).Concat(UserApiValidator.ValidateSpec(obj["spec"])).ToList();
        foreach (var key in obj.Select(p => p.Key).Where(key => key is not ("apiVersion" or "kind" or "metadata" or "spec" or "status")))
        {
            errors.Add(new(key, "unknown field (known fields: apiVersion, kind, metadata, spec, status)"));
        }

        if (errors.Count > 0)
        {
            throw new ManifestException($"{where} ({name ?? "unnamed"}): {string.Join("; ", errors)}");
        }

        // As the API server does for fields that are not nullable: a null is an absent field, so it takes its default.
        PruneNulls(obj);
        V1Alpha1UserApi userApi;
        try
        {
            userApi = Json.Deserialize<V1Alpha1UserApi>(obj);
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } p ? p[2..] : "(document)";
            throw new ManifestException($"{where} ({name}): {field}: {e.Message.Split(" Path:")[0]}", e);
        }

        // Once more with the defaults in place, as the API server validates after defaulting: a
        // cross-field rule can involve a field the file leaves to its default (maxReplicas: 1 with
        // the default minReplicas of 2).
        if (UserApiValidator.Validate(userApi) is { Count: > 0 } defaulted)
        {
            throw new ManifestException($"{where} ({name}): {string.Join("; ", defaulted)}");
        }

        return userApi;
    }

    private static void PruneNulls(JsonNode? node)
    {
        if (node is JsonObject obj)
        {
            foreach (var key in obj.Where(p => p.Value is null).Select(p => p.Key).ToList())
            {
                obj.Remove(key);
            }

            foreach (var (_, child) in obj)
            {
                PruneNulls(child);
            }
        }
        else if (node is JsonArray array)
        {
            foreach (var item in array)
            {
                PruneNulls(item);
            }
        }
    }
}
