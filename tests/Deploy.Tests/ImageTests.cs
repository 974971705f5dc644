using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using static UserApiOperator.Deploy.Tests.Manifest;

namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// The two images (issue 4, item 1), checked without a Docker engine: the Dockerfiles' build stages
/// are replayed (their restore and publish run as written, on the files they copy), the published
/// entry points named by ENTRYPOINT start, and the runtime stages are distroless, non-root, shell-free
/// and expose the right ports.
/// </summary>
public sealed class ImageTests(PublishedImagesFixture images) : IClassFixture<PublishedImagesFixture>
{
    private const string RuntimeImage = "mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled";

    /// <summary>What each Dockerfile must build.</summary>
    private static readonly Dictionary<string, (string Project, string Dll, int[] Ports)> Expected = new()
    {
        ["Dockerfile.operator"] = ("src/Operator/Operator.csproj", "userapi-operator.dll", [8080, 8081]),
        ["Dockerfile.api"] = ("src/UserApi/UserApi.csproj", "userapi.dll", [8000]),
    };

    public static TheoryData<string> Dockerfiles => ["Dockerfile.operator", "Dockerfile.api"];

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Build_stage_restores_and_publishes_the_project_as_written(string dockerfile)
    {
        var build = images[dockerfile];
        Assert.True(build.Failure is null, build.Failure);
        Assert.NotNull(build.Publish);
        Assert.True(build.Publish.ExitCode == 0, build.Publish.Transcript);

        var command = build.PublishCommand!;
        Assert.Equal(["dotnet", "publish", Expected[dockerfile].Project], command.Take(3));
        Assert.Equal("Release", After(command, "-c"));
        Assert.Contains("/p:UseAppHost=false", command);
        Assert.Equal("/app", build.PublishOutput);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Restore_layer_depends_only_on_the_files_that_decide_the_package_graph(string dockerfile)
    {
        var stage = Dockerfile.Load(dockerfile).Stages[0];
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", stage.Image, StringComparison.Ordinal);
        var restore = stage.Instructions.ToList().FindIndex(i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet restore", StringComparison.Ordinal));
        Assert.True(restore > 0, $"{dockerfile}: no `RUN dotnet restore` before the sources are copied");
        var copiedBefore = stage.Instructions.Take(restore).Where(i => i.Keyword == "COPY").SelectMany(i => i.FlagsAndWords().Words.SkipLast(1)).Order(StringComparer.Ordinal);
        Assert.Equal(new[] { "Directory.Build.props", "Directory.Packages.props", Expected[dockerfile].Project }.Order(StringComparer.Ordinal), copiedBefore);
        Assert.Contains(stage.Instructions.Skip(restore), i => i.Keyword == "COPY" && i.FlagsAndWords().Words[0] == Path.GetDirectoryName(Expected[dockerfile].Project) + "/");
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Runtime_stage_is_distroless_non_root_and_needs_no_shell(string dockerfile)
    {
        var file = Dockerfile.Load(dockerfile);
        Assert.True(file.Stages.Count >= 2, $"{dockerfile} is not multi-stage");
        var final = file.Final;
        Assert.Equal(RuntimeImage, final.Image);

        // Chiseled images have no shell: nothing may run one, at build or at run time.
        Assert.Empty(final.All("RUN"));
        foreach (var instruction in final.Instructions.Where(i => i.Keyword is "ENTRYPOINT" or "CMD"))
        {
            Assert.True(instruction.IsExecForm, $"{dockerfile}:{instruction.Line}: {instruction.Keyword} in shell form needs /bin/sh");
        }

        Assert.DoesNotContain(final.All("HEALTHCHECK"), i => !i.Arguments.Equals("NONE", StringComparison.OrdinalIgnoreCase) && !i.Arguments.Contains("CMD [", StringComparison.Ordinal));

        var user = final.All("USER").LastOrDefault();
        Assert.True(user is not null, $"{dockerfile}: the runtime stage has no USER line");
        var resolved = final.Expand(user.Arguments).Split(':')[0];
        Assert.True(int.TryParse(resolved, System.Globalization.CultureInfo.InvariantCulture, out var uid) && uid > 0,
            $"{dockerfile}:{user.Line}: USER {user.Arguments} resolves to \"{resolved}\", not a numeric non-root uid (runAsNonRoot needs a number)");
        Assert.Equal(1654, uid);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Runtime_stage_exposes_the_service_ports(string dockerfile)
    {
        var final = Dockerfile.Load(dockerfile).Final;
        var exposed = final.All("EXPOSE").SelectMany(i => ShellWords.Split(i.Arguments)).Select(p => int.Parse(p.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture)).Order().ToArray();
        Assert.Equal(Expected[dockerfile].Ports, exposed);
    }

    [Fact]
    public void Operator_image_ports_are_the_deployments_container_ports()
    {
        var exposed = Dockerfile.Load("Dockerfile.operator").Final.All("EXPOSE").SelectMany(i => ShellWords.Split(i.Arguments)).Select(long.Parse).Order();
        var deployment = RenderedManifests.Single("Deployment");
        var ports = Items(deployment, "spec", "template", "spec", "containers", 0, "ports").Select(p => At(p, "containerPort")!.GetValue<long>()).Order();
        Assert.Equal(exposed, ports);
    }

    [Fact]
    public void Api_image_listens_on_its_exposed_port()
    {
        var final = Dockerfile.Load("Dockerfile.api").Final;
        var urls = final.Environment["ASPNETCORE_URLS"];
        Assert.Equal(8000, new Uri(urls).Port);
        Assert.Contains("8000", final.All("EXPOSE").SelectMany(i => ShellWords.Split(i.Arguments)));
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Entry_point_is_published_and_runs_on_the_runtime_image(string dockerfile)
    {
        var build = images[dockerfile];
        Assert.True(build.Failure is null, build.Failure);
        var (dll, path) = EntryPoint(build);
        Assert.Equal(Expected[dockerfile].Dll, dll);
        Assert.True(File.Exists(path), $"{dockerfile}: ENTRYPOINT names {dll}, which the publish did not produce (looked at {path})");
        Assert.False(File.Exists(Path.ChangeExtension(path, null)), "/p:UseAppHost=false must leave no native launcher");

        // The aspnet image carries these shared frameworks, in the version of its tag, and no ICU.
        var config = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(path, ".runtimeconfig.json")))!;
        var frameworks = (At(config, "runtimeOptions", "frameworks") as JsonArray)?.OfType<JsonObject>().ToList()
            ?? [At(config, "runtimeOptions", "framework")!.AsObject()];
        Assert.NotEmpty(frameworks);
        foreach (var framework in frameworks)
        {
            Assert.Contains(Str(framework, "name"), new[] { "Microsoft.NETCore.App", "Microsoft.AspNetCore.App" });
            Assert.StartsWith("10.0.", Str(framework, "version"), StringComparison.Ordinal);
        }

        Assert.Equal(true, At(config, "runtimeOptions", "configProperties", "System.Globalization.Invariant")?.GetValue<bool>());
    }

    [Fact]
    public async Task Operator_entry_point_starts_and_prints_usage()
    {
        var build = images.Operator;
        Assert.True(build.Failure is null, build.Failure);
        var (_, path) = EntryPoint(build);
        var result = await ProcessRunner.RunAsync(RuntimeStart(build, path, ["--help"]), TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.Transcript);
        Assert.Contains("usage: userapi-operator", result.Output, StringComparison.Ordinal);
        Assert.Contains("--kubeconfig", result.Output, StringComparison.Ordinal);
        // Every flag the manager Deployment passes is one the published operator knows.
        var args = RenderedManifests.Single("Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray();
        Assert.NotEmpty(args);
        Assert.All(args, a => Assert.Contains(a!.GetValue<string>().Split('=')[0] + " ", result.Output, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Api_entry_point_answers_status_and_stops_on_sigterm()
    {
        var build = images.Api;
        Assert.True(build.Failure is null, build.Failure);
        var (_, path) = EntryPoint(build);
        var port = FreePort();
        using var process = ProcessRunner.Start(RuntimeStart(build, path, ["--urls", $"http://127.0.0.1:{port}"]), out var output, out var error);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var deadline = Stopwatch.StartNew();
            string? body = null;
            while (body is null && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                Assert.False(process.HasExited, $"userapi exited with {(process.HasExited ? process.ExitCode : 0)} before answering\n{output}\n{error}");
                try
                {
                    using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/status"));
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    body = await response.Content.ReadAsStringAsync();
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(250);
                }
            }

            Assert.True(body is not null, $"no answer on GET /status within 30 s\n{output}\n{error}");
            Assert.Equal("1", body.Trim());

            // Stop it by PID as Kubernetes does: SIGTERM, then it must exit cleanly on its own.
            var kill = await ProcessRunner.RunAsync(ProcessRunner.StartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], Repository.Root), TimeSpan.FromSeconds(10));
            Assert.True(kill.ExitCode == 0, kill.Transcript);
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await process.WaitForExitAsync(exit.Token);
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode} after SIGTERM\n{output}\n{error}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    private static (string Dll, string HostPath) EntryPoint(ImageBuild build)
    {
        var final = build.Dockerfile.Final;
        var entry = Assert.Single(final.All("ENTRYPOINT")).ExecArguments();
        Assert.Equal(2, entry.Count);
        Assert.Equal("dotnet", entry[0]);
        var runtimePath = ContainerPath.Combine(final.Workdir, entry[1]);
        var host = build.RuntimeHostPath(runtimePath);
        Assert.True(host is not null, $"{build.Dockerfile.Path}: no COPY --from of the build stage puts anything at {runtimePath}");
        return (entry[1], host);
    }

    /// <summary>Starts the entry point as the image would: the image's ENV, in its WORKDIR (the content root).</summary>
    private static ProcessStartInfo RuntimeStart(ImageBuild build, string dll, IEnumerable<string> args)
    {
        var final = build.Dockerfile.Final;
        var env = final.Environment.ToDictionary(e => e.Key, e => (string?)e.Value);
        var workdir = build.RuntimeHostPath(final.Workdir) ?? Path.GetDirectoryName(dll)!;
        return ProcessRunner.StartInfo("dotnet", args.Prepend(dll), workdir, env);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? After(IReadOnlyList<string> words, string flag)
    {
        var index = words.ToList().IndexOf(flag);
        return index >= 0 && index + 1 < words.Count ? words[index + 1] : null;
    }
}
