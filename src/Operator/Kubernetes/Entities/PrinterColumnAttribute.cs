namespace UserApiOperator.Kubernetes.Entities;

/// <summary>
/// An additional printer column of a custom resource (<c>kubectl get</c> output), written into the
/// CRD version's <c>additionalPrinterColumns</c>. Columns appear in declaration order.
/// </summary>
/// <param name="name">Column header, for example <c>Ready</c>.</param>
/// <param name="type">OpenAPI type: <c>string</c>, <c>integer</c>, <c>number</c>, <c>boolean</c> or <c>date</c>.</param>
/// <param name="jsonPath">Simple JSONPath into the object, for example <c>.status.url</c>.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class PrinterColumnAttribute(string name, string type, string jsonPath) : Attribute
{
    /// <summary>Column header.</summary>
    public string Name { get; } = name;

    /// <summary>OpenAPI type of the column.</summary>
    public string Type { get; } = type;

    /// <summary>JSONPath of the value.</summary>
    public string JsonPath { get; } = jsonPath;

    /// <summary>Optional description shown by <c>kubectl explain</c>-style tooling.</summary>
    public string? Description { get; init; }

    /// <summary>0 shows the column always; higher values only with <c>-o wide</c>.</summary>
    public int Priority { get; init; }
}
