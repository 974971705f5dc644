using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// A parsed Kubernetes label selector: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, <c>a in (x,y)</c>,
/// <c>a notin (x)</c>, <c>a</c>, <c>!a</c>, <c>a&gt;1</c>, <c>a&lt;1</c>, comma-separated (AND).
/// </summary>
public sealed class LabelSelector
{
    private readonly List<Requirement> _requirements;

    private LabelSelector(List<Requirement> requirements) => _requirements = requirements;

    /// <summary>The selector that matches everything.</summary>
    public static LabelSelector Everything { get; } = new([]);

    /// <summary>True when the selector has no requirements.</summary>
    public bool IsEmpty => _requirements.Count == 0;

    /// <summary>Parses the string form used by <c>?labelSelector=</c>.</summary>
    /// <exception cref="FormatException">The text is not a valid selector.</exception>
    public static LabelSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return Everything;
        var parser = new Parser(text);
        return new LabelSelector(parser.ParseAll());
    }

    /// <summary>Builds a selector from a <c>metav1.LabelSelector</c> object (matchLabels, matchExpressions).</summary>
    public static LabelSelector FromObject(JsonObject? selector)
    {
        var reqs = new List<Requirement>();
        if (selector?["matchLabels"] is JsonObject ml)
        {
            foreach (var (k, v) in ml) reqs.Add(new Requirement(k, Op.Equals, [JsonUtil.Str(v) ?? ""]));
        }
        if (selector?["matchExpressions"] is JsonArray exprs)
        {
            foreach (var e in exprs.OfType<JsonObject>())
            {
                var key = JsonUtil.Str(e["key"]) ?? "";
                var values = (e["values"] as JsonArray)?.Select(x => JsonUtil.Str(x) ?? "").ToList() ?? [];
                var op = (JsonUtil.Str(e["operator"]) ?? "") switch
                {
                    "In" => Op.In,
                    "NotIn" => Op.NotIn,
                    "Exists" => Op.Exists,
                    "DoesNotExist" => Op.DoesNotExist,
                    var other => throw new FormatException($"{other} is not a valid label selector operator"),
                };
                reqs.Add(new Requirement(key, op, values));
            }
        }
        return new LabelSelector(reqs);
    }

    /// <summary>True when the labels satisfy every requirement.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels) => _requirements.All(r => r.Matches(labels));

    /// <inheritdoc />
    public override string ToString() => string.Join(",", _requirements);

    private enum Op { Exists, DoesNotExist, Equals, NotEquals, In, NotIn, GreaterThan, LessThan }

    private sealed record Requirement(string Key, Op Operator, IReadOnlyList<string> Values)
    {
        public bool Matches(IReadOnlyDictionary<string, string> labels)
        {
            var has = labels.TryGetValue(Key, out var value);
            return Operator switch
            {
                Op.Exists => has,
                Op.DoesNotExist => !has,
                Op.Equals or Op.In => has && Values.Contains(value!),
                Op.NotEquals or Op.NotIn => !has || !Values.Contains(value!),
                Op.GreaterThan => has && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var g)
                    && g > long.Parse(Values[0], CultureInfo.InvariantCulture),
                Op.LessThan => has && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                    && l < long.Parse(Values[0], CultureInfo.InvariantCulture),
                _ => false,
            };
        }

        public override string ToString() => Operator switch
        {
            Op.Exists => Key,
            Op.DoesNotExist => "!" + Key,
            Op.Equals => $"{Key}={Values[0]}",
            Op.NotEquals => $"{Key}!={Values[0]}",
            Op.In => $"{Key} in ({string.Join(",", Values)})",
            Op.NotIn => $"{Key} notin ({string.Join(",", Values)})",
            Op.GreaterThan => $"{Key}>{Values[0]}",
            _ => $"{Key}<{Values[0]}",
        };
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        public List<Requirement> ParseAll()
        {
            var result = new List<Requirement>();
            while (true)
            {
                SkipSpace();
                if (_pos >= text.Length)
                {
                    if (result.Count > 0) throw Error("found '', expected: identifier after ','");
                    break;
                }
                result.Add(ParseRequirement());
                SkipSpace();
                if (_pos >= text.Length) break;
                if (text[_pos] != ',') throw Error($"found '{text[_pos]}', expected: ',' or 'end of string'");
                _pos++;
            }
            return result;
        }

        private Requirement ParseRequirement()
        {
            if (text[_pos] == '!')
            {
                _pos++;
                SkipSpace();
                return new Requirement(ReadKey(), Op.DoesNotExist, []);
            }
            var key = ReadKey();
            SkipSpace();
            if (_pos >= text.Length || text[_pos] == ',') return new Requirement(key, Op.Exists, []);
            if (Take("==") || Take("=")) return new Requirement(key, Op.Equals, [ReadValue()]);
            if (Take("!=")) return new Requirement(key, Op.NotEquals, [ReadValue()]);
            if (Take(">")) return new Requirement(key, Op.GreaterThan, [ReadInteger()]);
            if (Take("<")) return new Requirement(key, Op.LessThan, [ReadInteger()]);
            var word = ReadWord();
            var op = word switch
            {
                "in" => Op.In,
                "notin" => Op.NotIn,
                _ => throw Error($"found '{word}', expected: in, notin, =, ==, !=, gt, lt"),
            };
            SkipSpace();
            if (!Take("(")) throw Error("found '', expected: '('");
            var values = new List<string>();
            while (true)
            {
                SkipSpace();
                values.Add(ReadValue());
                SkipSpace();
                if (Take(",")) continue;
                if (Take(")")) break;
                throw Error("found '', expected: ',' or ')'");
            }
            if (values.Count == 1 && values[0].Length == 0)
            {
                throw Error("for 'in', 'notin' operators, values set can't be empty");
            }
            return new Requirement(key, op, values);
        }

        private string ReadKey()
        {
            var key = ReadWord();
            if (key.Length == 0) throw Error("found '', expected: identifier");
            return key;
        }

        private string ReadWord()
        {
            var sb = new StringBuilder();
            while (_pos < text.Length && !" \t=!,()<>".Contains(text[_pos], StringComparison.Ordinal)) sb.Append(text[_pos++]);
            return sb.ToString();
        }

        private string ReadValue()
        {
            SkipSpace();
            var sb = new StringBuilder();
            while (_pos < text.Length && !" \t,()=!<>".Contains(text[_pos], StringComparison.Ordinal)) sb.Append(text[_pos++]);
            return sb.ToString();
        }

        private string ReadInteger()
        {
            var v = ReadValue();
            if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            {
                throw Error($"for 'Gt', 'Lt' operators, the value must be an integer: {v}");
            }
            return v;
        }

        private bool Take(string token)
        {
            if (string.CompareOrdinal(text, _pos, token, 0, token.Length) != 0) return false;
            _pos += token.Length;
            return true;
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private FormatException Error(string message) => new($"unable to parse requirement: {message}");
    }
}
