using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Crd;
using UserApiOperator.Kubernetes.Serialization;

namespace UserApiOperator.Validation;

/// <summary>
/// Validates UserApi objects with the rules the API server applies from the generated CRD schema
/// (<see cref="SchemaValidator"/>), plus the naming rule the schema cannot express: the UserApi's
/// name names a Service, so it must be a DNS-1035 label. The operator uses it for objects that got
/// past the schema (an older CRD, a schema-less install); <c>render</c> uses it for files.
/// </summary>
public static partial class UserApiValidator
{
    private static readonly Lazy<JsonObject> SpecSchema = new(() => new SchemaGenerator(null).Generate(typeof(UserApiSpec), withDefaults: false));

    /// <summary>Errors in the name and spec of <paramref name="userApi"/>; empty when valid.</summary>
    public static IReadOnlyList<FieldError> Validate(V1Alpha1UserApi userApi)
    {
        var errors = new List<FieldError>(ValidateName(userApi.Metadata.Name));
        errors.AddRange(SchemaValidator.Validate(Json.ToNode(userApi.Spec), SpecSchema.Value, "spec"));
        if (errors.Count == 0)
        {
            errors.AddRange(ChildSpecRules.Validate(userApi.Spec));
        }

        return errors;
    }

    /// <summary>Errors in a raw <c>spec</c> tree (as read from a file, before defaults); empty when valid.</summary>
    public static IReadOnlyList<FieldError> ValidateSpec(JsonNode? spec) => SchemaValidator.Validate(spec, SpecSchema.Value, "spec");

    /// <summary>
    /// Errors in a UserApi name: required, and a DNS-1035 label (RFC 1035: lower-case letters,
    /// digits and '-', starting with a letter, ending with a letter or digit, at most 63 characters)
    /// because the Service takes the same name.
    /// </summary>
    public static IReadOnlyList<FieldError> ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return [new FieldError("metadata.name", "is required")];
        }

        if (name.Length > 63 || !Dns1035Label().IsMatch(name))
        {
            return [new FieldError("metadata.name", $"\"{name}\" must be a DNS-1035 label (at most 63 lower-case letters, digits or '-', starting with a letter and ending with a letter or digit) because it names the Service")];
        }

        return [];
    }

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1035Label();
}
