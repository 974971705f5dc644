using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s.Models;
using UserApiOperator.Kubernetes.Entities;
using UserApiOperator.Kubernetes.Serialization;

namespace UserApiOperator.Kubernetes.Crd;

/// <summary>
/// Builds the structural OpenAPI v3 schema of a C# type, as the CustomResourceDefinition's
/// <c>openAPIV3Schema</c> needs it (Kubernetes docs, "Specifying a structural schema"):
/// <list type="bullet">
/// <item>property names as on the wire (camelCase), descriptions from XML doc summaries;</item>
/// <item><see cref="RangeAttribute"/> gives <c>minimum</c>/<c>maximum</c>, <see cref="RegularExpressionAttribute"/> <c>pattern</c>,
/// <see cref="MinLengthAttribute"/>/<see cref="MaxLengthAttribute"/> <c>minLength</c>/<c>maxLength</c>, enums <c>enum</c>,
/// <see cref="RequiredAttribute"/> and C# <c>required</c> members <c>required</c>;</item>
/// <item>with <c>withDefaults</c>, a property's initial value in a new instance of its type becomes its <c>default</c>
/// (an object equal to a new instance of its own type becomes <c>{}</c>, so the server defaults inside it);
/// required properties get no default;</item>
/// <item>k8s.Models types (tolerations, affinity, ...) as the Kubernetes OpenAPI describes them: wire names from
/// their <see cref="JsonPropertyNameAttribute"/>, descriptions from KubernetesClient's documentation file, the
/// required fields of the Kubernetes OpenAPI (<see cref="KubernetesRequired"/>), no defaults;</item>
/// <item><see cref="MaxLengthAttribute"/> on a list gives <c>maxItems</c>; <see cref="ValidationRuleAttribute"/> on a
/// type or property gives <c>x-kubernetes-validations</c>.</item>
/// </list>
/// </summary>
/// <param name="docs">Where descriptions come from; null leaves them out (enough for validation).</param>
public sealed class SchemaGenerator(XmlDocumentation? docs)
{
    /// <summary>Regular expression of a valid resource quantity (the pattern the API server's schema uses for <see cref="ResourceQuantity"/>).</summary>
    public const string ResourceQuantityPattern = @"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

    /// <summary>
    /// Required fields of the k8s.Models types a spec may use, as in the Kubernetes OpenAPI
    /// (api/openapi-spec/v3/api__v1_openapi.json, <c>required</c> of each definition): KubernetesClient's
    /// models carry no marker for them.
    /// </summary>
    public static readonly IReadOnlyDictionary<Type, string[]> KubernetesRequired = new Dictionary<Type, string[]>
    {
        [typeof(V1TopologySpreadConstraint)] = ["maxSkew", "topologyKey", "whenUnsatisfiable"],
        [typeof(V1NodeSelector)] = ["nodeSelectorTerms"],
        [typeof(V1NodeSelectorRequirement)] = ["key", "operator"],
        [typeof(V1LabelSelectorRequirement)] = ["key", "operator"],
        [typeof(V1PreferredSchedulingTerm)] = ["preference", "weight"],
        [typeof(V1PodAffinityTerm)] = ["topologyKey"],
        [typeof(V1WeightedPodAffinityTerm)] = ["podAffinityTerm", "weight"],
    };

    /// <summary>Schema of <paramref name="type"/>.</summary>
    /// <param name="type">A class, enum, primitive, dictionary or list type.</param>
    /// <param name="withDefaults">Emit <c>default</c> values from property initialisers.</param>
    /// <exception cref="NotSupportedException">A member type has no schema mapping.</exception>
    public JsonObject Generate(Type type, bool withDefaults) => SchemaOf(type, withDefaults);

    private JsonObject SchemaOf(Type type, bool withDefaults)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;

        if (type == typeof(string))
        {
            return new JsonObject { ["type"] = "string" };
        }

        if (type == typeof(bool))
        {
            return new JsonObject { ["type"] = "boolean" };
        }

        if (type == typeof(int) || type == typeof(long))
        {
            return new JsonObject { ["type"] = "integer", ["format"] = type == typeof(int) ? "int32" : "int64" };
        }

        if (type == typeof(V1Condition))
        {
            return ConditionSchema();
        }

        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            return new JsonObject { ["type"] = "string", ["format"] = "date-time" };
        }

        if (type == typeof(ResourceQuantity) || type == typeof(IntOrString))
        {
            var schema = new JsonObject
            {
                ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "integer" }, new JsonObject { ["type"] = "string" }),
                ["x-kubernetes-int-or-string"] = true,
            };
            if (type == typeof(ResourceQuantity))
            {
                schema["pattern"] = ResourceQuantityPattern;
            }

            return schema;
        }

        if (type.IsEnum)
        {
            return new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray(Enum.GetNames(type).Select(n => (JsonNode)n).ToArray()),
            };
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            return new JsonObject { ["type"] = "object", ["additionalProperties"] = SchemaOf(valueType, withDefaults: false) };
        }

        if (ListItemType(type) is { } itemType)
        {
            var schema = new JsonObject { ["type"] = "array", ["items"] = SchemaOf(itemType, withDefaults) };
            if (itemType == typeof(V1Condition))
            {
                // Conditions are a map keyed by type (metav1.Condition convention), so SSA merges them per type.
                schema["x-kubernetes-list-type"] = "map";
                schema["x-kubernetes-list-map-keys"] = new JsonArray("type");
            }

            return schema;
        }

        if (type.IsClass)
        {
            return ObjectSchema(type, withDefaults);
        }

        throw new NotSupportedException($"No schema mapping for {type.FullName}.");
    }

    private JsonObject ObjectSchema(Type type, bool withDefaults)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        var isKubernetesModel = type.Namespace == typeof(V1Toleration).Namespace;
        withDefaults &= !isKubernetesModel;
        var kubernetesRequired = KubernetesRequired.GetValueOrDefault(type) ?? [];
        var instance = withDefaults && type.GetConstructor(Type.EmptyTypes) is not null ? Activator.CreateInstance(type) : null;

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.CanWrite))
        {
            var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            var schema = SchemaOf(property.PropertyType, withDefaults);
            var description = docs?.Summary(property);
            var ordered = new JsonObject();
            if (description is not null)
            {
                ordered["description"] = description;
            }

            foreach (var (key, value) in schema.ToList())
            {
                schema.Remove(key);
                ordered[key] = value;
            }

            ApplyValidation(property, ordered);
            AddRules(ordered, property.GetCustomAttributes<ValidationRuleAttribute>());
            var isRequired = property.IsDefined(typeof(RequiredAttribute)) || property.IsDefined(typeof(RequiredMemberAttribute))
                || kubernetesRequired.Contains(name);
            if (instance is not null && !isRequired && DefaultOf(property, instance) is { } defaultValue)
            {
                ordered["default"] = defaultValue;
            }

            properties[name] = ordered;
            if (isRequired)
            {
                required.Add(name);
            }
        }

        var result = new JsonObject { ["type"] = "object", ["properties"] = properties };
        if (required.Count > 0)
        {
            result["required"] = required;
        }

        AddRules(result, type.GetCustomAttributes<ValidationRuleAttribute>());
        return result;
    }

    /// <summary>Appends <paramref name="rules"/> to the <c>x-kubernetes-validations</c> of <paramref name="schema"/>.</summary>
    private static void AddRules(JsonObject schema, IEnumerable<ValidationRuleAttribute> rules)
    {
        foreach (var rule in rules)
        {
            if (schema["x-kubernetes-validations"] is not JsonArray list)
            {
                list = [];
                schema["x-kubernetes-validations"] = list;
            }

            var node = new JsonObject { ["rule"] = rule.Rule };
            if (rule.Message is not null)
            {
                node["message"] = rule.Message;
            }

            if (rule.FieldPath is not null)
            {
                node["fieldPath"] = rule.FieldPath;
            }

            if (rule.Reason is not null)
            {
                node["reason"] = rule.Reason;
            }

            list.Add(node);
        }
    }

    /// <summary>
    /// The schema of apimachinery's <c>metav1.Condition</c> (k8s.Models' <see cref="V1Condition"/>, whose
    /// documentation is not in this assembly): the fields in the order of the Kubernetes API conventions,
    /// with the required ones as the API server's own schema has them.
    /// </summary>
    private static JsonObject ConditionSchema()
    {
        static JsonObject Field(string description, string type, string? format = null)
        {
            var field = new JsonObject { ["description"] = description, ["type"] = type };
            if (format is not null)
            {
                field["format"] = format;
            }

            return field;
        }

        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["type"] = Field("Condition type in CamelCase, for example Ready.", "string"),
                ["status"] = Field("True, False or Unknown.", "string"),
                ["observedGeneration"] = Field("The metadata.generation the condition was set from.", "integer", "int64"),
                ["lastTransitionTime"] = Field("When Status last changed (RFC 3339, UTC, second precision).", "string", "date-time"),
                ["reason"] = Field("Machine-readable CamelCase reason for the last transition.", "string"),
                ["message"] = Field("Human-readable detail; may be empty.", "string"),
            },
            ["required"] = new JsonArray("type", "status", "lastTransitionTime", "reason", "message"),
        };
    }

    private static void ApplyValidation(PropertyInfo property, JsonObject schema)
    {
        if (property.GetCustomAttribute<RangeAttribute>() is { } range)
        {
            schema["minimum"] = JsonValue.Create(Convert.ToInt64(range.Minimum, System.Globalization.CultureInfo.InvariantCulture));
            schema["maximum"] = JsonValue.Create(Convert.ToInt64(range.Maximum, System.Globalization.CultureInfo.InvariantCulture));
        }

        if (property.GetCustomAttribute<MinLengthAttribute>() is { } minLength)
        {
            schema["minLength"] = minLength.Length;
        }

        if (property.GetCustomAttribute<MaxLengthAttribute>() is { } maxLength)
        {
            schema[schema["type"]?.GetValue<string>() == "array" ? "maxItems" : "maxLength"] = maxLength.Length;
        }

        if (property.GetCustomAttribute<RegularExpressionAttribute>() is { } pattern)
        {
            schema["pattern"] = pattern.Pattern;
        }
    }

    private static JsonNode? DefaultOf(PropertyInfo property, object instance)
    {
        var value = property.GetValue(instance);
        if (value is null)
        {
            return null;
        }

        var serialized = Json.ToNode(value);
        var type = property.PropertyType;
        if (type.IsClass && type != typeof(string) && DictionaryValueType(type) is null && ListItemType(type) is null
            && type.GetConstructor(Type.EmptyTypes) is not null)
        {
            var fresh = Json.ToNode(Activator.CreateInstance(type)!);
            if (JsonNode.DeepEquals(serialized, fresh))
            {
                return new JsonObject();
            }
        }

        return serialized;
    }

    private static Type? DictionaryValueType(Type type) =>
        Generic(type, typeof(IDictionary<,>)) is { } args && args[0] == typeof(string) ? args[1] : null;

    private static Type? ListItemType(Type type) =>
        type == typeof(string) || type.IsArray && type == typeof(byte[]) ? null
        : type.IsArray ? type.GetElementType()
        : typeof(IEnumerable).IsAssignableFrom(type) && Generic(type, typeof(IEnumerable<>)) is { } args ? args[0] : null;

    private static Type[]? Generic(Type type, Type definition)
    {
        if (type.IsGenericType && type.GetGenericTypeDefinition() == definition)
        {
            return type.GetGenericArguments();
        }

        return type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition)?.GetGenericArguments();
    }
}
