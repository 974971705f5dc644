using System.Globalization;
using System.Net;

namespace LocalCluster.Kubelet;

/// <summary>
/// Pod networking: each Pod is a network namespace <c>lc-&lt;pod uid prefix&gt;</c> with loopback up
/// and an <c>eth0</c> that is one end of a veth pair whose other end is a port of the bridge
/// hack/local-cluster.sh made (<c>uapi0</c>, 10.244.0.1/24). The host reaches a Pod on its
/// address; inside, the Pod's containers share <c>127.0.0.1</c>, as in a real Pod.
/// <para>
/// Every node of the local cluster is on the same bridge; each hands out the addresses of its own
/// range (the Node's <c>spec.podCIDR</c>, kubelet's <c>--pod-cidr</c>; a slice of the bridge's
/// subnet), so the Pods of all nodes reach each other and the gateway directly, as a flat Pod network
/// (a CNI bridge plugin with host-local IPAM per node) would make them. Each node records the
/// namespaces it made in its own directory, so that its start removes only what it left.
/// </para>
/// </summary>
/// <param name="bridge">The bridge (<c>uapi0</c>).</param>
/// <param name="gateway">The bridge's address, the Pods' default route.</param>
/// <param name="prefixLength">The bridge subnet's prefix length (24).</param>
/// <param name="podCidr">This node's range inside that subnet, e.g. 10.244.0.64/26; null: the whole subnet.</param>
/// <param name="recordDirectory">Where this node records the namespaces it made (one empty file each); null: nowhere.</param>
internal sealed class PodNetwork(string bridge, IPAddress gateway, int prefixLength, (IPAddress Address, int PrefixLength)? podCidr = null, string? recordDirectory = null)
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

    /// <summary>This node's range as text (the Node's <c>spec.podCIDR</c>).</summary>
    public string PodCidr => podCidr is { } c ? $"{c.Address}/{c.PrefixLength}" : $"{Network(gateway, prefixLength)}/{prefixLength}";

    /// <summary>
    /// Namespaces left by an earlier kubelet of this node (removed at start): those it recorded, or,
    /// when it records none, every <c>lc-</c> namespace on the machine.
    /// </summary>
    public async Task<List<string>> ListLeftoversAsync()
    {
        var (_, output) = await Host.RunAsync("ip", ["netns", "list"]);
        var all = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')[0]).Where(n => n.StartsWith(NamespacePrefix, StringComparison.Ordinal));
        if (recordDirectory is null) return [.. all];
        var mine = Directory.Exists(recordDirectory) ? Directory.GetFiles(recordDirectory).Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal) : [];
        return [.. all.Where(mine.Contains)];
    }

    /// <summary>Tears down a namespace and forgets its record.</summary>
    public async Task RemoveAsync(string netns)
    {
        await TearDownAsync(netns);
        if (recordDirectory is not null) File.Delete(Path.Combine(recordDirectory, netns));
    }

    /// <summary>Makes the namespace and its veth; returns the Pod's address.</summary>
    public async Task<string> SetUpAsync(string netns, string hostVeth)
    {
        var ip = Allocate();
        try
        {
            await TearDownAsync(netns);
            if (recordDirectory is not null)
            {
                Directory.CreateDirectory(recordDirectory);
                await File.WriteAllTextAsync(Path.Combine(recordDirectory, netns), "");
            }
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
        // The host numbers of this node's range (of the bridge's subnet when it has none), without
        // the subnet's network and broadcast addresses and the gateway.
        var (first, size) = podCidr is { } c
            ? (c.Address.GetAddressBytes()[3], 1 << (32 - c.PrefixLength))
            : (0, 1 << (32 - prefixLength));
        var subnetHosts = Math.Min((1 << (32 - prefixLength)) - 1, 255);
        lock (_lock)
        {
            // Round robin over the host numbers, so a freed address is not handed out again at once
            // (an Ingress still pointing at a Pod just deleted must not reach its successor).
            var count = Math.Min(size, 256);
            for (var i = 0; i < count; i++)
            {
                var n = first + (_next + i) % count;
                if (n == 0 || n >= subnetHosts || n == bytes[3] || !_used.Add(n)) continue;
                _next = (n - first + 1) % count;
                return $"{bytes[0]}.{bytes[1]}.{bytes[2]}.{n}";
            }
        }
        throw new InvalidOperationException($"no free Pod address in {PodCidr}");
    }

    private static IPAddress Network(IPAddress address, int prefix)
    {
        var b = address.GetAddressBytes();
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        var value = ((uint)b[0] << 24 | (uint)b[1] << 16 | (uint)b[2] << 8 | b[3]) & mask;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }
}
