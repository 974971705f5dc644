using System.Text;
using System.Text.RegularExpressions;

namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// Replays the build stage of a Dockerfile without a Docker engine: its WORKDIR, COPY (from the
/// build context, honouring <c>.dockerignore</c>) and RUN instructions (the <c>dotnet</c> and
/// <c>rm</c> commands of <c>&amp;&amp;</c> chains) run against a temporary directory that stands for
/// the container's filesystem. So the <c>dotnet restore</c> and <c>dotnet publish</c> of the
/// Dockerfile run exactly as written, on exactly the files the Dockerfile copies, with the publish
/// output (<c>-o /app</c>) landing in that temporary directory.
/// </summary>
public sealed class ImageBuild
{
    private readonly List<(string Runtime, string Build)> runtimeMounts = [];

    private ImageBuild(Dockerfile dockerfile)
    {
        Dockerfile = dockerfile;
        Root = Directory.CreateTempSubdirectory("deploy-tests-image-").FullName;
    }

    /// <summary>The parsed Dockerfile.</summary>
    public Dockerfile Dockerfile { get; }

    /// <summary>Host directory standing for the root of the build stage's filesystem.</summary>
    public string Root { get; }

    /// <summary>The <c>dotnet publish</c> command as the Dockerfile writes it (continuations resolved).</summary>
    public IReadOnlyList<string>? PublishCommand { get; private set; }

    /// <summary>The outcome of that publish, when it ran.</summary>
    public ProcessResult? Publish { get; private set; }

    /// <summary>Container path of the publish output (the <c>-o</c> value).</summary>
    public string? PublishOutput { get; private set; }

    /// <summary>Why the replay stopped early, with the output of the failed step; null when it ran to the end.</summary>
    public string? Failure { get; private set; }

    /// <summary>Replays the build stage (the one stage with a <c>dotnet publish</c>) of a Dockerfile.</summary>
    /// <param name="dockerfile">Path relative to the repository root.</param>
    /// <param name="timeout">Time limit of each command.</param>
    /// <returns>The replay; check <see cref="Failure"/>.</returns>
    public static async Task<ImageBuild> RunAsync(string dockerfile, TimeSpan timeout)
    {
        var build = new ImageBuild(Dockerfile.Load(dockerfile));
        try
        {
            await build.ReplayAsync(timeout);
            build.MapRuntimeCopies();
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or IOException or FormatException)
        {
            build.Failure ??= $"{dockerfile}: {e.Message}";
        }

        return build;
    }

    /// <summary>Host path of a path in the build stage's filesystem.</summary>
    /// <param name="containerPath">Absolute container path.</param>
    /// <returns>The host path under <see cref="Root"/>.</returns>
    public string HostPath(string containerPath) => Path.Combine(Root, ContainerPath.Combine("/", containerPath).TrimStart('/'));

    /// <summary>
    /// Host path of a path in the final (runtime) image, through the image's <c>COPY --from=</c> of
    /// the build stage; null when no such copy covers it.
    /// </summary>
    /// <param name="runtimePath">Absolute path in the runtime image.</param>
    /// <returns>The host path, or null.</returns>
    public string? RuntimeHostPath(string runtimePath)
    {
        foreach (var (runtime, build) in Enumerable.Reverse(runtimeMounts))
        {
            if (ContainerPath.IsUnder(runtimePath, runtime))
            {
                return HostPath(build + runtimePath[runtime.Length..]);
            }
        }

        return null;
    }

    /// <summary>Deletes the temporary directory.</summary>
    public void Delete()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private DockerStage BuildStage() =>
        Dockerfile.Stages.SingleOrDefault(s => s.All("RUN").Any(r => Regex.IsMatch(r.Arguments, @"\bdotnet\s+publish\b")))
        ?? throw new InvalidOperationException("expected exactly one stage that runs `dotnet publish`");

    private async Task ReplayAsync(TimeSpan timeout)
    {
        var stage = BuildStage();
        var ignore = DockerIgnore.Load();
        var workdir = "/";
        var env = new Dictionary<string, string?>(ProcessRunner.DotnetEnvironment);
        foreach (var instruction in stage.Instructions)
        {
            switch (instruction.Keyword)
            {
                case "WORKDIR":
                    workdir = ContainerPath.Combine(workdir, stage.Expand(instruction.Arguments));
                    Directory.CreateDirectory(HostPath(workdir));
                    break;
                case "COPY":
                    Copy(instruction, workdir, ignore);
                    break;
                case "ENV":
                    foreach (var (key, value) in new DockerStage(stage.Image, null, [instruction]).Environment)
                    {
                        env[key] = value;
                    }

                    break;
                case "ARG" or "LABEL":
                    break;
                case "RUN":
                    foreach (var command in ShellWords.SplitAnd(stage.Expand(instruction.Arguments)))
                    {
                        if (!await RunAsync(instruction, command, workdir, env, timeout))
                        {
                            return;
                        }
                    }

                    break;
                default:
                    throw new NotSupportedException($"line {instruction.Line}: {instruction.Keyword} in the build stage is not replayed by this test");
            }
        }

        if (Publish is null)
        {
            throw new InvalidOperationException("the build stage ran no `dotnet publish`");
        }
    }

    private async Task<bool> RunAsync(DockerInstruction instruction, IReadOnlyList<string> command, string workdir, IReadOnlyDictionary<string, string?> env, TimeSpan timeout)
    {
        switch (command[0])
        {
            case "rm":
                foreach (var path in command.Skip(1).Where(w => !w.StartsWith('-')))
                {
                    var host = HostPath(ContainerPath.Combine(workdir, path));
                    if (Directory.Exists(host))
                    {
                        Directory.Delete(host, recursive: true);
                    }
                    else if (File.Exists(host))
                    {
                        File.Delete(host);
                    }
                }

                return true;
            case "dotnet":
                var args = command.Skip(1).ToList();
                var isPublish = args.FirstOrDefault() == "publish";
                for (var i = 0; i < args.Count - 1; i++)
                {
                    if (args[i] is "-o" or "--output")
                    {
                        if (isPublish)
                        {
                            PublishOutput = ContainerPath.Combine(workdir, args[i + 1]);
                        }

                        args[i + 1] = HostPath(ContainerPath.Combine(workdir, args[i + 1]));
                    }
                }

                var result = await ProcessRunner.RunAsync(ProcessRunner.StartInfo("dotnet", args, HostPath(workdir), env), timeout);
                if (isPublish)
                {
                    PublishCommand = command;
                    Publish = result;
                }

                if (result.ExitCode != 0)
                {
                    Failure = $"{Dockerfile.Path}:{instruction.Line}: `{string.Join(' ', command)}` failed: {result.Transcript}";
                    return false;
                }

                return true;
            default:
                throw new NotSupportedException($"line {instruction.Line}: `{string.Join(' ', command)}` is not replayed by this test (only dotnet and rm are)");
        }
    }

    private void Copy(DockerInstruction instruction, string workdir, DockerIgnore ignore)
    {
        var (flags, words) = instruction.FlagsAndWords();
        if (flags.ContainsKey("from") || words.Count < 2)
        {
            throw new NotSupportedException($"line {instruction.Line}: COPY {instruction.Arguments}");
        }

        var dest = ContainerPath.Combine(workdir, words[^1]);
        var intoDirectory = words[^1].EndsWith('/') || words.Count > 2;
        foreach (var source in words.SkipLast(1))
        {
            if (source.IndexOfAny(['*', '?', '[']) >= 0)
            {
                throw new NotSupportedException($"line {instruction.Line}: wildcards in COPY sources are not replayed by this test");
            }

            var relative = ContainerPath.Combine("/", source).TrimStart('/');
            var host = Repository.PathOf(relative);
            if (Directory.Exists(host) && !ignore.IsExcluded(relative))
            {
                foreach (var file in Directory.EnumerateFiles(host, "*", SearchOption.AllDirectories))
                {
                    var inContext = Path.GetRelativePath(Repository.Root, file).Replace('\\', '/');
                    if (!ignore.IsExcluded(inContext))
                    {
                        CopyFile(file, HostPath(ContainerPath.Combine(dest, Path.GetRelativePath(host, file).Replace('\\', '/'))));
                    }
                }
            }
            else if (File.Exists(host) && !ignore.IsExcluded(relative))
            {
                CopyFile(host, HostPath(intoDirectory ? ContainerPath.Combine(dest, Path.GetFileName(host)) : dest));
            }
            else
            {
                throw new InvalidOperationException($"{Dockerfile.Path}:{instruction.Line}: COPY source \"{source}\" is not in the build context (missing, or excluded by .dockerignore)");
            }
        }
    }

    private static void CopyFile(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to, overwrite: true);
    }

    private void MapRuntimeCopies()
    {
        var build = BuildStage();
        var workdir = "/";
        foreach (var instruction in Dockerfile.Final.Instructions)
        {
            if (instruction.Keyword == "WORKDIR")
            {
                workdir = ContainerPath.Combine(workdir, Dockerfile.Final.Expand(instruction.Arguments));
            }
            else if (instruction.Keyword == "COPY")
            {
                var (flags, words) = instruction.FlagsAndWords();
                if (flags.TryGetValue("from", out var from) && (from == build.Name || from == Dockerfile.Stages.ToList().IndexOf(build).ToString(System.Globalization.CultureInfo.InvariantCulture)) && words.Count == 2)
                {
                    runtimeMounts.Add((ContainerPath.Combine(workdir, words[1]), ContainerPath.Combine("/", words[0])));
                }
            }
        }
    }
}

/// <summary>The patterns of the repository's <c>.dockerignore</c> (Go filepath.Match syntax plus <c>**</c>, <c>!</c> exceptions).</summary>
public sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exclude)> rules;

    private DockerIgnore(List<(Regex Pattern, bool Exclude)> rules) => this.rules = rules;

    /// <summary>Reads <c>.dockerignore</c> at the repository root (none: nothing is excluded).</summary>
    /// <returns>The patterns.</returns>
    public static DockerIgnore Load()
    {
        var path = Repository.PathOf(".dockerignore");
        var rules = new List<(Regex, bool)>();
        foreach (var raw in File.Exists(path) ? File.ReadAllLines(path) : [])
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var exclude = !line.StartsWith('!');
            var pattern = line.TrimStart('!').Trim().Trim('/');
            var regex = new StringBuilder("^");
            for (var i = 0; i < pattern.Length; i++)
            {
                if (pattern[i] == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
                {
                    var slash = i + 2 < pattern.Length && pattern[i + 2] == '/';
                    regex.Append(slash ? "(.*/)?" : ".*");
                    i += slash ? 2 : 1;
                }
                else
                {
                    regex.Append(pattern[i] switch { '*' => "[^/]*", '?' => "[^/]", var c => Regex.Escape(c.ToString()) });
                }
            }

            rules.Add((new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant), exclude));
        }

        return new DockerIgnore(rules);
    }

    /// <summary>Whether a path of the build context, or a directory it lies in, is excluded.</summary>
    /// <param name="relativePath">Path relative to the context root, forward slashes.</param>
    /// <returns>True when excluded.</returns>
    public bool IsExcluded(string relativePath)
    {
        var parts = relativePath.Trim('/').Split('/');
        for (var n = 1; n <= parts.Length; n++)
        {
            var prefix = string.Join('/', parts.Take(n));
            var excluded = false;
            foreach (var (pattern, exclude) in rules)
            {
                if (pattern.IsMatch(prefix))
                {
                    excluded = exclude;
                }
            }

            if (excluded)
            {
                return true;
            }
        }

        return false;
    }
}
