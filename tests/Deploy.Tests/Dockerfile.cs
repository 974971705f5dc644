using System.Text;
using System.Text.Json;

namespace UserApiOperator.Deploy.Tests;

/// <summary>One instruction of a Dockerfile, continuation lines joined and comments removed.</summary>
/// <param name="Keyword">Upper-case keyword: FROM, RUN, COPY, ...</param>
/// <param name="Arguments">The rest of the instruction.</param>
/// <param name="Line">1-based line where it starts.</param>
public sealed record DockerInstruction(string Keyword, string Arguments, int Line)
{
    /// <summary>Exec (JSON array) form, as opposed to shell form.</summary>
    public bool IsExecForm => Arguments.StartsWith('[');

    /// <summary>The items of an exec-form instruction.</summary>
    /// <returns>The JSON array's strings.</returns>
    /// <exception cref="FormatException">Not exec form.</exception>
    public IReadOnlyList<string> ExecArguments() =>
        IsExecForm ? JsonSerializer.Deserialize<string[]>(Arguments) ?? [] : throw new FormatException($"line {Line}: {Keyword} is not in exec form: {Arguments}");

    /// <summary>Flags (<c>--from=build</c>) and the remaining words of a shell-form instruction.</summary>
    /// <returns>Flags by name, and the words.</returns>
    public (IReadOnlyDictionary<string, string> Flags, IReadOnlyList<string> Words) FlagsAndWords()
    {
        var words = IsExecForm ? [.. ExecArguments()] : ShellWords.Split(Arguments).ToList();
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        while (words.Count > 0 && words[0].StartsWith("--", StringComparison.Ordinal))
        {
            var eq = words[0].IndexOf('=', StringComparison.Ordinal);
            flags[eq > 0 ? words[0][2..eq] : words[0][2..]] = eq > 0 ? words[0][(eq + 1)..] : "";
            words.RemoveAt(0);
        }

        return (flags, words);
    }
}

/// <summary>A build stage: its base image, optional name and instructions.</summary>
/// <param name="Image">The FROM image.</param>
/// <param name="Name">The <c>AS</c> name, if any.</param>
/// <param name="Instructions">Its instructions after FROM.</param>
public sealed record DockerStage(string Image, string? Name, IReadOnlyList<DockerInstruction> Instructions)
{
    /// <summary>
    /// Variables the .NET images on mcr.microsoft.com define (all of sdk, runtime, aspnet, their
    /// chiseled variants): the uid of their non-root "app" user.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> DotnetImageEnvironment = new Dictionary<string, string> { ["APP_UID"] = "1654" };

    /// <summary>The instructions with a keyword.</summary>
    /// <param name="keyword">For example RUN.</param>
    /// <returns>In order.</returns>
    public IEnumerable<DockerInstruction> All(string keyword) => Instructions.Where(i => i.Keyword == keyword);

    /// <summary>The working directory after the last WORKDIR (absolute, <c>/</c> when none).</summary>
    public string Workdir => All("WORKDIR").Aggregate("/", (dir, i) => ContainerPath.Combine(dir, Expand(i.Arguments.Trim())));

    /// <summary>The environment this stage's ENV instructions set.</summary>
    public IReadOnlyDictionary<string, string> Environment
    {
        get
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var instruction in All("ENV"))
            {
                var words = ShellWords.Split(instruction.Arguments);
                if (words.Count > 0 && !words[0].Contains('=', StringComparison.Ordinal))
                {
                    env[words[0]] = string.Join(' ', words.Skip(1)); // legacy "ENV key value"
                    continue;
                }

                foreach (var word in words)
                {
                    var eq = word.IndexOf('=', StringComparison.Ordinal);
                    env[word[..eq]] = word[(eq + 1)..];
                }
            }

            return env;
        }
    }

    /// <summary>Expands <c>$NAME</c> and <c>${NAME}</c> from this stage's ENV, then the .NET images' own variables.</summary>
    /// <param name="text">Text with variable references.</param>
    /// <returns>The text with known variables replaced; unknown ones are left as they are.</returns>
    public string Expand(string text)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Image.StartsWith("mcr.microsoft.com/dotnet/", StringComparison.Ordinal))
        {
            foreach (var (k, v) in DotnetImageEnvironment)
            {
                env[k] = v;
            }
        }

        foreach (var (k, v) in Environment)
        {
            env[k] = v;
        }

        return System.Text.RegularExpressions.Regex.Replace(text, @"\$\{(\w+)\}|\$(\w+)", m =>
        {
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            return env.TryGetValue(name, out var value) ? value : m.Value;
        });
    }
}

/// <summary>A parsed Dockerfile (the subset of the syntax the repository's Dockerfiles use).</summary>
/// <param name="Path">Path relative to the repository root.</param>
/// <param name="Stages">Build stages in order; the last one is the image.</param>
public sealed record Dockerfile(string Path, IReadOnlyList<DockerStage> Stages)
{
    /// <summary>The stage that becomes the image.</summary>
    public DockerStage Final => Stages[^1];

    /// <summary>Reads and parses a Dockerfile of the repository.</summary>
    /// <param name="relativePath">For example <c>Dockerfile.operator</c>.</param>
    /// <returns>The parsed file.</returns>
    public static Dockerfile Load(string relativePath) => Parse(relativePath, File.ReadAllText(Repository.PathOf(relativePath)));

    /// <summary>Parses Dockerfile text: comment lines dropped (also inside continuations), lines ending in a backslash joined.</summary>
    /// <param name="path">Name for messages.</param>
    /// <param name="text">The Dockerfile.</param>
    /// <returns>The parsed file.</returns>
    /// <exception cref="FormatException">An instruction before the first FROM, or a dangling continuation.</exception>
    public static Dockerfile Parse(string path, string text)
    {
        var instructions = new List<DockerInstruction>();
        var current = new StringBuilder();
        var start = 0;
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.Trim();
            if (trimmed.StartsWith('#') || trimmed.Length == 0)
            {
                continue; // comments and blank lines, also inside a continuation
            }

            if (current.Length == 0)
            {
                start = i + 1;
            }

            var continued = trimmed.EndsWith('\\');
            current.Append(continued ? trimmed[..^1].TrimEnd() : trimmed).Append(' ');
            if (!continued)
            {
                Add(current.ToString().Trim(), start);
                current.Clear();
            }
        }

        if (current.Length > 0)
        {
            throw new FormatException($"{path}: the instruction at line {start} ends with a line continuation");
        }

        var stages = new List<DockerStage>();
        string? image = null;
        string? name = null;
        var body = new List<DockerInstruction>();
        foreach (var instruction in instructions)
        {
            if (instruction.Keyword == "FROM")
            {
                if (image is not null)
                {
                    stages.Add(new DockerStage(image, name, body));
                }

                var (_, words) = instruction.FlagsAndWords();
                image = words[0];
                name = words.Count == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null;
                body = [];
            }
            else if (image is null)
            {
                if (instruction.Keyword != "ARG")
                {
                    throw new FormatException($"{path}:{instruction.Line}: {instruction.Keyword} before the first FROM");
                }
            }
            else
            {
                body.Add(instruction);
            }
        }

        if (image is not null)
        {
            stages.Add(new DockerStage(image, name, body));
        }

        return new Dockerfile(path, stages);

        void Add(string joined, int line)
        {
            var space = joined.IndexOfAny([' ', '\t']);
            var keyword = space < 0 ? joined : joined[..space];
            instructions.Add(new DockerInstruction(keyword.ToUpperInvariant(), space < 0 ? "" : joined[(space + 1)..].Trim(), line));
        }
    }

    /// <summary>The stage named <paramref name="name"/> (or with that index).</summary>
    /// <param name="name">An <c>AS</c> name or a stage index.</param>
    /// <returns>The stage.</returns>
    public DockerStage Stage(string name) =>
        Stages.FirstOrDefault(s => s.Name == name)
        ?? (int.TryParse(name, System.Globalization.CultureInfo.InvariantCulture, out var index) ? Stages[index] : throw new InvalidOperationException($"{Path}: no stage \"{name}\""));
}

/// <summary>Splits a shell command line into words (quotes and backslash escapes; no expansion).</summary>
public static class ShellWords
{
    /// <summary>Splits <paramref name="text"/> at unquoted whitespace.</summary>
    /// <param name="text">The command line.</param>
    /// <returns>The words, quotes removed.</returns>
    /// <exception cref="FormatException">An unterminated quote.</exception>
    public static IReadOnlyList<string> Split(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }
                else if (c == '\\' && quote == '"' && i + 1 < text.Length && text[i + 1] is '"' or '\\' or '$')
                {
                    word.Append(text[++i]);
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                inWord = true;
                if (c is '"' or '\'')
                {
                    quote = c;
                }
                else if (c == '\\' && i + 1 < text.Length)
                {
                    word.Append(text[++i]);
                }
                else
                {
                    word.Append(c);
                }
            }
        }

        if (quote is not null)
        {
            throw new FormatException($"unterminated {quote} in: {text}");
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    /// <summary>Splits a shell command line into the commands of a <c>&amp;&amp;</c> chain.</summary>
    /// <param name="text">The command line (no other operators are expected).</param>
    /// <returns>The words of each command.</returns>
    /// <exception cref="NotSupportedException">Other shell operators (<c>;</c>, <c>||</c>, pipes, redirections).</exception>
    public static IReadOnlyList<IReadOnlyList<string>> SplitAnd(string text)
    {
        var commands = new List<IReadOnlyList<string>>();
        var current = new List<string>();
        foreach (var word in Split(text))
        {
            if (word == "&&")
            {
                commands.Add(current);
                current = [];
            }
            else if (word is ";" or "||" or "|" or ">" or ">>" or "<" || word.EndsWith(';'))
            {
                throw new NotSupportedException($"shell operator \"{word}\" in: {text}");
            }
            else
            {
                current.Add(word);
            }
        }

        commands.Add(current);
        return commands.Where(c => c.Count > 0).ToList();
    }
}

/// <summary>Paths inside a container image (always forward slashes, absolute).</summary>
public static class ContainerPath
{
    /// <summary>Resolves <paramref name="path"/> against the directory <paramref name="dir"/>.</summary>
    /// <param name="dir">An absolute container directory.</param>
    /// <param name="path">Absolute or relative.</param>
    /// <returns>The normalised absolute path (no trailing slash except for the root).</returns>
    public static string Combine(string dir, string path)
    {
        var parts = new List<string>();
        foreach (var part in ((path.StartsWith('/') ? "" : dir + "/") + path).Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else
            {
                parts.Add(part);
            }
        }

        return "/" + string.Join('/', parts);
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="dir"/> or lies under it.</summary>
    /// <param name="path">Absolute container path.</param>
    /// <param name="dir">Absolute container directory.</param>
    /// <returns>True when inside.</returns>
    public static bool IsUnder(string path, string dir) =>
        dir == "/" || path == dir || path.StartsWith(dir + "/", StringComparison.Ordinal);
}
