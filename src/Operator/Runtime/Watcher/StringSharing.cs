using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;

namespace UserApiOperator.Runtime.Watcher;

/// <summary>
/// Makes equal strings of cached objects one instance. Objects an operator makes from one template
/// repeat most of their strings (label keys and values, image names, environment variable names,
/// probe paths, the defaults the API server adds), yet each decoded object holds its own copies;
/// sharing them is most of what a cached child costs. A cache transform (<see cref="Transforms"/>).
/// </summary>
/// <remarks>
/// Only what can repeat is pooled: strings of at most <see cref="MaxLength"/> characters, and never
/// the fields that are unique to one object or one version of it by construction
/// (<see cref="UniqueFields"/>: UIDs, resource versions, condition messages), which would take a
/// slot without saving anything. The pool is bounded: when it holds <see cref="Capacity"/> strings it
/// starts afresh, so it keeps sharing what new objects repeat, and strings of objects long gone are
/// not pinned for ever (cached objects keep the instances they already share). Thread-safe.
/// </remarks>
public sealed class StringSharing
{
    /// <summary>
    /// String properties never pooled, by name, on any model type: <c>Uid</c> (metadata and owner
    /// references), <c>ResourceVersion</c>, <c>SelfLink</c> and <c>Message</c> (conditions' messages
    /// name replica sets, counts and times).
    /// </summary>
    public static readonly IReadOnlySet<string> UniqueFields = new HashSet<string>(StringComparer.Ordinal) { "Uid", "ResourceVersion", "SelfLink", "Message" };

    private static readonly ConcurrentDictionary<Type, Member[]> Members = new();
    private readonly ConcurrentDictionary<string, string> _pool = new(StringComparer.Ordinal);
    private long _resets;

    /// <summary>Distinct strings the pool holds at most before it starts afresh (default 16,384: about 1 MB of short strings).</summary>
    public int Capacity { get; init; } = 16_384;

    /// <summary>Strings longer than this (in UTF-16 code units) are left alone (default 256).</summary>
    public int MaxLength { get; init; } = 256;

    /// <summary>How many distinct strings the pool holds.</summary>
    public int Count => _pool.Count;

    /// <summary>How many times the pool was full and started afresh.</summary>
    public long Resets => Interlocked.Read(ref _resets);

    /// <summary>The pooled instance equal to <paramref name="value"/>, adding it (a full pool starts afresh first).</summary>
    public string Share(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > MaxLength)
        {
            return value;
        }

        if (_pool.TryGetValue(value, out var shared))
        {
            return shared;
        }

        if (_pool.Count >= Capacity)
        {
            _pool.Clear();
            Interlocked.Increment(ref _resets);
        }

        return _pool.GetOrAdd(value, value);
    }

    /// <summary>
    /// Replaces, in place, every string reachable from <paramref name="obj"/> through public read-write
    /// properties of k8s.Models types and of the operator's entities (string properties, string lists,
    /// and the keys and string values of dictionaries) by its pooled instance. Other types (byte
    /// arrays, quantities, dates) are left as they are. Returns <paramref name="obj"/>.
    /// </summary>
    public T Apply<T>(T obj)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(obj);
        Walk(obj, depth: 0);
        return obj;
    }

    private void Walk(object obj, int depth)
    {
        if (depth > 32)
        {
            return; // Model graphs are trees a dozen levels deep; a cycle would be a bug elsewhere.
        }

        foreach (var member in Members.GetOrAdd(obj.GetType(), Describe))
        {
            var value = member.Property.GetValue(obj);
            switch (value)
            {
                case null:
                    break;
                case string s when Share(s) is var shared && !ReferenceEquals(shared, s):
                    member.Property.SetValue(obj, shared); // Only when it changes: a reflected set is the costly part.
                    break;
                case string:
                    break;
                case IDictionary<string, string> map:
                    member.Property.SetValue(obj, map.ToDictionary(p => Share(p.Key), p => p.Value is null ? null! : Share(p.Value), StringComparer.Ordinal));
                    break;
                case IList<string> { IsReadOnly: false } list:
                    for (var i = 0; i < list.Count; i++)
                    {
                        if (list[i] is { } item)
                        {
                            list[i] = Share(item);
                        }
                    }

                    break;
                case IList list:
                    foreach (var item in list)
                    {
                        if (item is not null && IsModel(item.GetType()))
                        {
                            Walk(item, depth + 1);
                        }
                    }

                    break;
                default:
                    if (IsModel(value.GetType()))
                    {
                        Walk(value, depth + 1);
                    }

                    break;
            }
        }
    }

    /// <summary>The members worth visiting: public read-write instance properties of string, collection or model type.</summary>
    private static Member[] Describe(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0)
            .Where(p => p.PropertyType == typeof(string) && !UniqueFields.Contains(p.Name)
                || typeof(IDictionary<string, string>).IsAssignableFrom(p.PropertyType)
                || typeof(IEnumerable).IsAssignableFrom(p.PropertyType) && p.PropertyType != typeof(byte[]) && p.PropertyType != typeof(string)
                || IsModel(p.PropertyType))
            .Select(p => new Member(p))
            .ToArray();

    /// <summary>k8s.Models' classes and the operator's own entities; not quantities, whose state is private.</summary>
    private static bool IsModel(Type type) =>
        type.IsClass && type != typeof(string) && type.Name != "ResourceQuantity"
        && (type.Namespace == "k8s.Models" || type.Namespace?.StartsWith("UserApiOperator.Entities", StringComparison.Ordinal) == true);

    private sealed record Member(PropertyInfo Property);
}
