using System.Globalization;
using System.Net;

namespace LocalCluster.Kubelet;

/// <summary>
/// Pod networking: each Pod is a network namespace <c>lc-&lt;pod uid prefix&gt;</c> with loopback up
/// and an <c>eth0</c> that is one end of a veth pair whose other end is a port of the bridge
/// hack/local-cluster.sh made (<c>uapi0</c>, 10.244.0.1/24). The host reaches a Pod on its
/// address; inside, the Pod's containers share <c>127.0.0.1</c>, as in a real Pod.
/// </summary>
internal sealed class PodNetwork(string bridge, IPAddress gateway, int prefixLength)
{
    /// <summary>Prefix of every namespace this kubelet makes (hack/local-cluster.sh down removes what is left).</summary>
    public const string NamespacePrefix = "lc-";

    private readonly Lock _lock = new();
    private readonly HashSet<int> _used = [];
    private int _next;

    /// <summary>The node's address on the bridge (status.hostIP).</summary>
    public string HostIp => gateway.ToString();

    /// <summary>Checks that the bridge exists and has the gateway address.</summary>
    public async Task CheckAsync()
    {
        var (code, output) = await Host.RunAsync("ip", ["-o", "-4", "addr", "show", "dev", bridge]);
        if (code != 0 || !output.Contains($" {gateway}/", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"bridge {bridge} with {gateway}/{prefixLength} is missing (hack/local-cluster.sh up makes it): {output.Trim()}");
        }
    }

    /// <summary>Namespaces left by an earlier kubelet of this cluster (removed at start).</summary>
    public static async Task<List<string>> ListNamespacesAsync()
    {
        var (_, output) = await Host.RunAsync("ip", ["netns", "list"]);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')[0]).Where(n => n.StartsWith(NamespacePrefix, StringComparison.Ordinal))];
    }

    /// <summary>Makes the namespace and its veth; returns the Pod's address.</summary>
    public async Task<string> SetUpAsync(string netns, string hostVeth)
    {
        var ip = Allocate();
        try
        {
            await TearDownAsync(netns);
            await Host.IpAsync("netns", "add", netns);
            await Host.IpAsync("link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", netns);
            await Host.IpAsync("link", "set", hostVeth, "master", bridge, "up");
            await Host.IpAsync("-n", netns, "addr", "add", $"{ip}/{prefixLength}", "dev", "eth0");
            await Host.IpAsync("-n", netns, "link", "set", "eth0", "up");
            await Host.IpAsync("-n", netns, "link", "set", "lo", "up");
            await Host.IpAsync("-n", netns, "route", "add", "default", "via", gateway.ToString());
            return ip;
        }
        catch
        {
            Release(ip);
            await TearDownAsync(netns);
            throw;
        }
    }

    /// <summary>Kills whatever still runs in the namespace, then deletes it (its veth pair goes with it).</summary>
    public static async Task TearDownAsync(string netns)
    {
        if (!File.Exists(Path.Combine("/run/netns", netns))) return;
        var (_, pids) = await Host.RunAsync("ip", ["netns", "pids", netns]);
        foreach (var line in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(line.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) Host.Signal(pid, Host.SIGKILL);
        }
        for (var i = 0; i < 50; i++)
        {
            var (_, left) = await Host.RunAsync("ip", ["netns", "pids", netns]);
            if (string.IsNullOrWhiteSpace(left)) break;
            await Task.Delay(100);
        }
        await Host.RunAsync("ip", ["netns", "delete", netns]);
    }

    /// <summary>Returns an address to the pool.</summary>
    public void Release(string ip)
    {
        var last = int.Parse(ip[(ip.LastIndexOf('.') + 1)..], CultureInfo.InvariantCulture);
        lock (_lock) _used.Remove(last);
    }

    private string Allocate()
    {
        var bytes = gateway.GetAddressBytes();
        var hosts = (1 << (32 - prefixLength)) - 2;
        lock (_lock)
        {
            // Round robin over the host numbers, so a freed address is not handed out again at once
            // (an Ingress still pointing at a Pod just deleted must not reach its successor).
            var count = Math.Min(hosts, 254);
            for (var i = 0; i < count; i++)
            {
                var n = (_next + i) % count + 1;
                if (n == bytes[3] || !_used.Add(n)) continue;
                _next = n % count;
                return $"{bytes[0]}.{bytes[1]}.{bytes[2]}.{n}";
            }
        }
        throw new InvalidOperationException("no free Pod address on the bridge");
    }
}
