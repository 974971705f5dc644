using System.ComponentModel;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LocalCluster.KubeletServer;

/// <summary>
/// The master side of a pseudo-terminal: received from <c>runc --console-socket</c> (runc sends the
/// pty master it made inside the container over a Unix socket with <c>SCM_RIGHTS</c>, as
/// runc/libcontainer/utils/cmsg.go <c>SendFile</c> does), read and written as two streams on
/// duplicated descriptors, and resized with <c>TIOCSWINSZ</c> (what containerd's and CRI-O's
/// console handling does for a resize message).
/// </summary>
public sealed class PseudoTerminal : IDisposable
{
    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const ulong Tiocswinsz = 0x5414;
    private const int MsgCmsgCloexec = 0x40000000;
    private const int FDupFdCloexec = 1030;

    private readonly SafeFileHandle _master;

    /// <summary>Takes ownership of a pty master descriptor.</summary>
    public PseudoTerminal(SafeFileHandle master)
    {
        _master = master;
        Output = new FileStream(Duplicate(master), FileAccess.Read, bufferSize: 0);
        Input = new FileStream(Duplicate(master), FileAccess.Write, bufferSize: 0);
    }

    /// <summary>What the terminal shows (the program's output). Reading it ends with an IOException (EIO) once no program holds the terminal.</summary>
    public Stream Output { get; }

    /// <summary>What is typed into the terminal (the program's input).</summary>
    public Stream Input { get; }

    /// <summary>Sets the terminal's size; the foreground program gets SIGWINCH.</summary>
    public void Resize(TerminalSize size)
    {
        var winsize = new WinSize { Rows = size.Height, Columns = size.Width };
        if (Ioctl((int)_master.DangerousGetHandle(), Tiocswinsz, ref winsize) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "ioctl(TIOCSWINSZ)");
        }
    }

    /// <summary>
    /// Accepts one connection on <paramref name="listener"/> and receives the descriptor sent with it
    /// (the first SCM_RIGHTS descriptor of the first message).
    /// </summary>
    /// <exception cref="IOException">The peer sent no descriptor.</exception>
    public static async Task<SafeFileHandle> ReceiveAsync(Socket listener, CancellationToken cancellationToken)
    {
        using var connection = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);

        // recvmsg blocks; the peer sends at once, so a worker thread waits at most a moment.
        return await Task.Run(() => ReceiveDescriptor(connection), cancellationToken).ConfigureAwait(false);
    }

    private static SafeFileHandle ReceiveDescriptor(Socket connection)
    {
        const int DataSize = 4096;
        const int ControlSize = 64;
        var data = Marshal.AllocHGlobal(DataSize);
        var control = Marshal.AllocHGlobal(ControlSize);
        var iov = Marshal.AllocHGlobal(Marshal.SizeOf<IoVec>());
        try
        {
            for (var i = 0; i < ControlSize; i++) Marshal.WriteByte(control, i, 0);
            Marshal.StructureToPtr(new IoVec { Base = data, Length = DataSize }, iov, false);
            var header = new MsgHdr { Iov = iov, IovLength = 1, Control = control, ControlLength = ControlSize };
            var received = RecvMsg((int)connection.SafeHandle.DangerousGetHandle(), ref header, MsgCmsgCloexec);
            if (received < 0) throw new IOException($"recvmsg on the console socket: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");

            // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; unsigned char data[]; }
            if (header.ControlLength >= 20)
            {
                var level = Marshal.ReadInt32(control, 8);
                var type = Marshal.ReadInt32(control, 12);
                if (level == SolSocket && type == ScmRights) return new SafeFileHandle(Marshal.ReadInt32(control, 16), ownsHandle: true);
            }
            throw new IOException("the console socket's peer sent no terminal");
        }
        finally
        {
            Marshal.FreeHGlobal(iov);
            Marshal.FreeHGlobal(control);
            Marshal.FreeHGlobal(data);
        }
    }

    private static SafeFileHandle Duplicate(SafeFileHandle handle)
    {
        // Close-on-exec, so that no command started later (another exec's runc) holds this terminal.
        var fd = Fcntl((int)handle.DangerousGetHandle(), FDupFdCloexec, 0);
        return fd < 0 ? throw new Win32Exception(Marshal.GetLastPInvokeError(), "fcntl(F_DUPFD_CLOEXEC)") : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Input.Dispose();
        Output.Dispose();
        _master.Dispose();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public nint Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    // DllImport rather than LibraryImport: the source-generated form needs unsafe code in the project.
    [DllImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static extern nint RecvMsg(int socket, ref MsgHdr message, int flags);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, ulong request, ref WinSize size);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, int argument);
}
