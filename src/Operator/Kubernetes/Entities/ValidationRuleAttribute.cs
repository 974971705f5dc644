namespace UserApiOperator.Kubernetes.Entities;

/// <summary>
/// A cross-field rule written in CEL, generated into the schema as an entry of
/// <c>x-kubernetes-validations</c> (apiextensions.k8s.io/v1 <c>ValidationRule</c>: <c>rule</c>,
/// <c>message</c>, <c>fieldPath</c>, <c>reason</c>), so that the API server rejects a violation on
/// create and update. On a class the rule applies to every object of that type (<c>self</c> is the
/// object); on a property to that property's value (<c>self</c> is the value). The operator's
/// validator (and so <c>render</c>) evaluates the same rule string (<see cref="Crd.CelRules"/>).
/// Rules are evaluated after defaulting and only where the value is present, as the API server does.
/// </summary>
/// <param name="rule">The CEL expression; true means valid. Core CEL only (has, size, in, all, exists, startsWith, ...): see <see cref="Crd.CelRules"/>.</param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true, Inherited = false)]
public sealed class ValidationRuleAttribute(string rule) : Attribute
{
    /// <summary>The CEL expression.</summary>
    public string Rule { get; } = rule;

    /// <summary>Error message shown when the rule is false; the API server defaults it to "failed rule: RULE".</summary>
    public string? Message { get; init; }

    /// <summary>JSONPath relative to <c>self</c> of the field the error names, for example <c>.host</c>; unset names <c>self</c>.</summary>
    public string? FieldPath { get; init; }

    /// <summary>
    /// Machine-readable reason of the error: <c>FieldValueInvalid</c> (the API server's default),
    /// <c>FieldValueForbidden</c>, <c>FieldValueRequired</c> or <c>FieldValueDuplicate</c>.
    /// </summary>
    public string? Reason { get; init; }
}
