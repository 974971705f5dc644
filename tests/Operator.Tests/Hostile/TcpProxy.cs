using System.Net;
using System.Net.Sockets;

namespace UserApiOperator.Tests.Hostile;

/// <summary>What a <see cref="TcpProxy"/> does with connections.</summary>
internal enum ProxyMode
{
    /// <summary>Forward bytes both ways to the target.</summary>
    Forward,

    /// <summary>Stop listening: connects are refused (ECONNREFUSED), as when the API server is down.</summary>
    Refuse,

    /// <summary>Accept, then close at once with a TCP reset; open connections are reset too.</summary>
    Reset,

    /// <summary>Accept and never answer; open connections go silent (a partition or a stuck server).</summary>
    Hang,
}

/// <summary>
/// A loopback TCP proxy in front of the fake API server, one per operator process, so that one
/// replica can be cut off alone. Accepts on a fixed port of 127.0.0.1 (kept across
/// <see cref="ProxyMode.Refuse"/>), counts the connections it accepts.
/// </summary>
internal sealed class TcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly object _lock = new();
    private readonly List<Link> _links = [];
    private readonly List<DateTimeOffset> _accepted = [];
    private TcpListener? _listener;
    private ProxyMode _mode;
    private bool _disposed;

    public TcpProxy(IPEndPoint target, ProxyMode mode = ProxyMode.Forward)
    {
        _target = target;
        Port = FreePort();
        _mode = mode;
        if (mode != ProxyMode.Refuse)
        {
            Listen();
        }
    }

    /// <summary>The port the proxy accepts on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:&lt;port&gt;</c>.</summary>
    public string Address => $"http://127.0.0.1:{Port}";

    /// <summary>Times at which connections were accepted (in every mode but Refuse, which accepts none).</summary>
    public IReadOnlyList<DateTimeOffset> Accepted
    {
        get
        {
            lock (_lock)
            {
                return [.. _accepted];
            }
        }
    }

    /// <summary>Switches mode; open connections are reset (Reset, Refuse, and leaving Hang) or frozen (Hang).</summary>
    public ProxyMode Mode
    {
        get => _mode;
        set
        {
            List<Link> links;
            lock (_lock)
            {
                if (_mode == value)
                {
                    return;
                }

                _mode = value;
                links = [.. _links];
                if (value == ProxyMode.Refuse)
                {
                    _listener?.Stop();
                    _listener = null;
                }
                else if (_listener is null)
                {
                    Listen();
                }
            }

            foreach (var link in links)
            {
                if (value == ProxyMode.Hang)
                {
                    link.Frozen = true;
                }
                else
                {
                    link.Abort();
                }
            }
        }
    }

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public ValueTask DisposeAsync()
    {
        List<Link> links;
        lock (_lock)
        {
            _disposed = true;
            _listener?.Stop();
            _listener = null;
            links = [.. _links];
        }

        foreach (var link in links)
        {
            link.Abort();
        }

        return ValueTask.CompletedTask;
    }

    private void Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        _ = Task.Run(() => AcceptLoopAsync(listener));
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return; // Stopped (Refuse or dispose).
            }

            ProxyMode mode;
            lock (_lock)
            {
                _accepted.Add(DateTimeOffset.UtcNow);
                mode = _disposed ? ProxyMode.Reset : _mode;
            }

            _ = Task.Run(() => HandleAsync(client, mode));
        }
    }

    private async Task HandleAsync(Socket client, ProxyMode mode)
    {
        if (mode is ProxyMode.Reset or ProxyMode.Refuse)
        {
            Reset(client);
            return;
        }

        var link = new Link(client);
        lock (_lock)
        {
            _links.Add(link);
        }

        try
        {
            if (mode == ProxyMode.Hang)
            {
                link.Frozen = true;
                await link.DrainAsync();
                return;
            }

            await link.Upstream.ConnectAsync(_target);
            await Task.WhenAny(link.PumpAsync(link.Client, link.Upstream), link.PumpAsync(link.Upstream, link.Client));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            // The connection ended; Abort below closes both sides.
        }
        finally
        {
            link.Abort();
            lock (_lock)
            {
                _links.Remove(link);
            }
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // close() sends RST, not FIN.
            socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>One proxied connection: the client's socket and the one to the target.</summary>
    private sealed class Link(Socket client)
    {
        private readonly CancellationTokenSource _aborted = new();

        public Socket Client { get; } = client;

        public Socket Upstream { get; } = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        /// <summary>Bytes read are dropped, nothing is written: the peer sees silence.</summary>
        public volatile bool Frozen;

        public async Task PumpAsync(Socket from, Socket to)
        {
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _aborted.Token);
                if (n == 0)
                {
                    return;
                }

                if (!Frozen)
                {
                    await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _aborted.Token);
                }
            }
        }

        public async Task DrainAsync()
        {
            var buffer = new byte[16 * 1024];
            while (await Client.ReceiveAsync(buffer, SocketFlags.None, _aborted.Token) > 0)
            {
            }
        }

        public void Abort()
        {
            try
            {
                _aborted.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }

            Reset(Client);
            Reset(Upstream);
        }
    }
}
