using System.Diagnostics;
using System.Text.Json.Nodes;
using LocalCluster.Kubelet;

namespace LocalCluster.Runtime;

/// <summary>
/// runc (Debian's runc 1.1; crun refuses this machine's hybrid cgroup v1 layout) with its state
/// under <c>&lt;state&gt;/runc</c> (<c>runc --root</c>). A container runs as <c>runc run</c> in the
/// foreground: runc stays its parent, copies its stdout and stderr, forwards signals, exits with its
/// exit status (128 + the signal when it was killed by one: 137 for SIGKILL, the OOM killer's) and
/// deletes it. Other programs reach a container by its id, e.g.
/// <c>runc --root &lt;state&gt;/runc exec &lt;id&gt; CMD</c>; the id is in the Pod's status as
/// <c>containerID: runc://&lt;id&gt;</c> (see <see cref="ContainerId"/>).
/// </summary>
/// <param name="root">runc's state directory.</param>
internal sealed class Runc(string root)
{
    /// <summary>runc's state directory (<c>runc --root</c>).</summary>
    public string Root { get; } = root;

    /// <summary>
    /// The id of one run of a container: <c>&lt;first 10 hex digits of the Pod uid&gt;-&lt;container&gt;-&lt;restartCount&gt;</c>,
    /// e.g. <c>3f2a9c0d1b-api-0</c>: unique on the node, stable for one run, readable in <c>runc list</c>.
    /// </summary>
    public static string ContainerId(string podUid, string container, int restartCount) =>
        $"{podUid.Replace("-", "", StringComparison.Ordinal)[..10]}-{container}-{restartCount}";

    /// <summary>Start info for <c>runc [--root R] ARGS</c> with both output streams redirected.</summary>
    public ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("runc")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(Root);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary><c>runc kill ID SIGNAL</c>; false when the container is not running (any more).</summary>
    public async Task<bool> KillAsync(string id, string signal, bool all = false)
    {
        var (code, _) = await Host.RunAsync("runc", ["--root", Root, "kill", .. (all ? new[] { "--all" } : []), id, signal]);
        return code == 0;
    }

    /// <summary><c>runc delete --force ID</c> (kills what still runs); errors ignored.</summary>
    public Task DeleteAsync(string id) => Host.RunAsync("runc", ["--root", Root, "delete", "--force", id]);

    /// <summary>The containers runc knows under this root: id, status and init pid.</summary>
    public async Task<List<(string Id, string Status, int Pid)>> ListAsync()
    {
        if (!Directory.Exists(Root)) return [];
        var (code, output) = await Host.RunAsync("runc", ["--root", Root, "list", "--format", "json"]);
        if (code != 0 || string.IsNullOrWhiteSpace(output) || output.Trim() == "null") return [];
        return [.. JsonNode.Parse(output)!.AsArray().Select(c => ((string)c!["id"]!, (string)c["status"]!, (int?)c["pid"] ?? 0))];
    }
}
