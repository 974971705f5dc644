using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace UserApiOperator.Kubernetes.Crd;

/// <summary>
/// Reads the <c>&lt;summary&gt;</c> of types and properties from the XML documentation file the
/// compiler writes beside an assembly (<c>GenerateDocumentationFile</c>), so that doc comments are
/// the one source of CRD field descriptions. Inline tags are flattened to text
/// (<c>&lt;c&gt;x&lt;/c&gt;</c> to <c>x</c>, <c>&lt;see cref="T:A.B"/&gt;</c> to <c>B</c>).
/// </summary>
public sealed partial class XmlDocumentation
{
    private readonly Dictionary<string, string> _summaries;

    private XmlDocumentation(Dictionary<string, string> summaries) => _summaries = summaries;

    /// <summary>Loads the documentation files of <paramref name="assemblies"/> (<c>&lt;name&gt;.xml</c> beside each).</summary>
    /// <exception cref="FileNotFoundException">A file is missing (the assembly was built, or its package copied, without documentation).</exception>
    public static XmlDocumentation For(params Assembly[] assemblies)
    {
        ArgumentNullException.ThrowIfNull(assemblies);
        var summaries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var assembly in assemblies)
        {
            var path = Path.ChangeExtension(assembly.Location, ".xml");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"XML documentation file {path} is missing; build with GenerateDocumentationFile (CopyDocumentationFilesFromPackages for a package).", path);
            }

            foreach (var member in XDocument.Load(path).Descendants("member"))
            {
                if (member.Attribute("name")?.Value is { } id && member.Element("summary") is { } summary)
                {
                    summaries[id] = Flatten(summary);
                }
            }
        }

        return new XmlDocumentation(summaries);
    }

    /// <summary>Summary of a type, or null when it has none.</summary>
    public string? Summary(Type type) => _summaries.GetValueOrDefault("T:" + type.FullName?.Replace('+', '.'));

    /// <summary>Summary of a property, or null when it has none.</summary>
    public string? Summary(PropertyInfo property) =>
        _summaries.GetValueOrDefault($"P:{property.DeclaringType!.FullName?.Replace('+', '.')}.{property.Name}");

    private static string Flatten(XElement element)
    {
        var text = new StringBuilder();
        foreach (var node in element.Nodes())
        {
            text.Append(node switch
            {
                XText t => t.Value,
                XElement { Name.LocalName: "see" or "seealso" } e =>
                    e.Attribute("langword")?.Value ?? e.Attribute("cref")?.Value.Split('.', ':')[^1] ?? e.Value,
                XElement { Name.LocalName: "paramref" or "typeparamref" } e => e.Attribute("name")?.Value,
                XElement e => Flatten(e),
                _ => "",
            });
        }

        return Whitespace().Replace(text.ToString(), " ").Trim();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
