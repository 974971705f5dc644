using System.Globalization;
using System.Net;

namespace UserApiService.Tests.Infrastructure;

/// <summary>The kernel's own view of TCP sockets, from <c>/proc/net/tcp</c> (IPv4).</summary>
public static class KernelTcp
{
    /// <summary>TCP_ESTABLISHED in <c>include/net/tcp_states.h</c>.</summary>
    public const int Established = 0x01;

    /// <summary>TCP_LISTEN in <c>include/net/tcp_states.h</c>.</summary>
    public const int Listen = 0x0A;

    /// <summary>
    /// The state of the socket bound to <paramref name="local"/> and connected to
    /// <paramref name="remote"/>, or null when the kernel no longer lists it (closed, or reset by the peer).
    /// </summary>
    public static int? StateOf(IPEndPoint local, IPEndPoint remote) =>
        Sockets().Where(s => s.Local.Equals(local) && s.Remote.Equals(remote)).Select(s => (int?)s.State).FirstOrDefault();

    /// <summary>Every IPv4 TCP socket of this network namespace: local and remote address and state.</summary>
    public static IEnumerable<(IPEndPoint Local, IPEndPoint Remote, int State, long Inode)> Sockets()
    {
        // "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            yield return (Parse(fields[1]), Parse(fields[2]), int.Parse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                long.Parse(fields[9], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Inodes of the sockets this process holds open (its <c>/proc/self/fd</c> links <c>socket:[inode]</c>).</summary>
    public static HashSet<long> OwnSocketInodes()
    {
        var inodes = new HashSet<long>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    inodes.Add(long.Parse(target["socket:[".Length..^1], CultureInfo.InvariantCulture));
                }
            }
            catch (IOException)
            {
                // Closed while listing.
            }
        }

        return inodes;
    }

    /// <summary>
    /// "0100007F:1F40" to 127.0.0.1:8000: the kernel prints the address as the 32-bit word it stores in
    /// network byte order (<c>net/ipv4/tcp_ipv4.c</c>, <c>get_tcp4_sock</c>, <c>%08X</c>), so the word's
    /// bytes in this machine's order are the address's; the port is printed as a number.
    /// </summary>
    private static IPEndPoint Parse(string field)
    {
        var parts = field.Split(':');
        var word = uint.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return new IPEndPoint(new IPAddress(BitConverter.GetBytes(word)), int.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }
}
