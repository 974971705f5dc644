using System.Reflection;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Crd;

/// <summary>
/// Generates the <c>apiextensions.k8s.io/v1</c> CustomResourceDefinition of a custom entity type from
/// its attributes (<see cref="KubernetesEntityAttribute"/>, <see cref="KubernetesEntityShortNamesAttribute"/>,
/// <see cref="ScaleSubresourceAttribute"/>, <see cref="PrinterColumnAttribute"/>) and its spec and status
/// types (<see cref="SchemaGenerator"/>). The C# types are the one source of truth; the committed
/// file under <c>config/crd/</c> is this output.
/// </summary>
public static class CrdGenerator
{
    /// <summary>The CRD of <typeparamref name="TEntity"/> as a JSON tree, ready to serialise as YAML or apply.</summary>
    /// <exception cref="InvalidOperationException">The type lacks a <see cref="KubernetesEntityAttribute"/>.</exception>
    public static JsonObject Generate<TEntity, TSpec, TStatus>()
        where TEntity : IKubernetesObject<V1ObjectMeta>, ISpec<TSpec>, IStatus<TStatus?>
        where TSpec : new()
        where TStatus : class
    {
        var type = typeof(TEntity);
        var entity = type.GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new InvalidOperationException($"{type.FullName} has no [KubernetesEntity] attribute.");
        var docs = XmlDocumentation.For(type.Assembly, typeof(V1ObjectMeta).Assembly);
        var schemas = new SchemaGenerator(docs);

        var specSchema = WithDescription(schemas.Generate(typeof(TSpec), withDefaults: true), docs.Summary(typeof(TSpec)));
        specSchema["default"] = new JsonObject();
        var statusSchema = WithDescription(schemas.Generate(typeof(TStatus), withDefaults: false), docs.Summary(typeof(TStatus)));

        var root = new JsonObject
        {
            ["description"] = docs.Summary(type),
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["apiVersion"] = new JsonObject { ["description"] = "APIVersion defines the versioned schema of this representation of an object.", ["type"] = "string" },
                ["kind"] = new JsonObject { ["description"] = "Kind is a string value representing the REST resource this object represents.", ["type"] = "string" },
                ["metadata"] = new JsonObject { ["type"] = "object" },
                ["spec"] = specSchema,
                ["status"] = statusSchema,
            },
        };

        var version = new JsonObject
        {
            ["name"] = entity.ApiVersion,
            ["served"] = true,
            ["storage"] = true,
            ["schema"] = new JsonObject { ["openAPIV3Schema"] = root },
            ["subresources"] = Subresources(type),
        };
        var columns = type.GetCustomAttributes<PrinterColumnAttribute>().Select(Column).ToArray();
        if (columns.Length > 0)
        {
            version["additionalPrinterColumns"] = new JsonArray(columns);
        }

        var names = new JsonObject
        {
            ["kind"] = entity.Kind,
            ["listKind"] = entity.Kind + "List",
            ["plural"] = entity.PluralName,
            ["singular"] = entity.Kind.ToLowerInvariant(),
        };
        if (type.GetCustomAttribute<KubernetesEntityShortNamesAttribute>() is { } shortNames)
        {
            names["shortNames"] = new JsonArray(shortNames.ShortNames.Select(n => (JsonNode)n).ToArray());
        }

        return new JsonObject
        {
            ["apiVersion"] = "apiextensions.k8s.io/v1",
            ["kind"] = "CustomResourceDefinition",
            ["metadata"] = new JsonObject { ["name"] = $"{entity.PluralName}.{entity.Group}" },
            ["spec"] = new JsonObject
            {
                ["group"] = entity.Group,
                ["names"] = names,
                ["scope"] = "Namespaced", // k8s.Models' attribute has no scope; every entity here is namespaced.
                ["versions"] = new JsonArray(version),
            },
        };
    }

    private static JsonObject WithDescription(JsonObject schema, string? description)
    {
        if (description is null)
        {
            return schema;
        }

        var result = new JsonObject { ["description"] = description };
        foreach (var (key, value) in schema.ToList())
        {
            schema.Remove(key);
            result[key] = value;
        }

        return result;
    }

    private static JsonObject Subresources(Type type)
    {
        var subresources = new JsonObject { ["status"] = new JsonObject() };
        if (type.GetCustomAttribute<ScaleSubresourceAttribute>() is { } scale)
        {
            var scaleNode = new JsonObject
            {
                ["specReplicasPath"] = scale.SpecReplicasPath,
                ["statusReplicasPath"] = scale.StatusReplicasPath,
            };
            if (scale.LabelSelectorPath is not null)
            {
                scaleNode["labelSelectorPath"] = scale.LabelSelectorPath;
            }

            subresources["scale"] = scaleNode;
        }

        return subresources;
    }

    private static JsonObject Column(PrinterColumnAttribute column)
    {
        var node = new JsonObject { ["name"] = column.Name, ["type"] = column.Type, ["jsonPath"] = column.JsonPath };
        if (column.Description is not null)
        {
            node["description"] = column.Description;
        }

        if (column.Priority != 0)
        {
            node["priority"] = column.Priority;
        }

        return node;
    }
}
