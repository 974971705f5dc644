using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LocalCluster.KubeletServer;

/// <summary>
/// A pseudo-terminal made here (posix_openpt, as a terminal emulator or sshd makes one): its master
/// side is read and written as two streams on duplicated descriptors and resized with
/// <c>TIOCSWINSZ</c>, which sends SIGWINCH to the program in the foreground of the other side;
/// <see cref="SlavePath"/> names the other side (<c>/dev/pts/N</c>) for the program to open.
/// </summary>
public sealed class PseudoTerminal : IDisposable
{
    private const ulong Tiocswinsz = 0x5414;
    private const int FDupFdCloexec = 1030;
    private const int ORdWr = 2;
    private const int ONoCtty = 0x100;
    private const int OCloExec = 0x80000;

    private readonly SafeFileHandle _master;

    private PseudoTerminal(SafeFileHandle master, string slavePath)
    {
        _master = master;
        SlavePath = slavePath;
        Output = new FileStream(Duplicate(master), FileAccess.Read, bufferSize: 0);
        Input = new FileStream(Duplicate(master), FileAccess.Write, bufferSize: 0);
    }

    /// <summary>The terminal's other side, <c>/dev/pts/N</c>, where the program's standard streams go.</summary>
    public string SlavePath { get; }

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

    /// <summary>Opens a new pseudo-terminal (close-on-exec, not this process's controlling terminal).</summary>
    /// <exception cref="Win32Exception">The system has no pseudo-terminal to give.</exception>
    public static PseudoTerminal Open()
    {
        var fd = PosixOpenpt(ORdWr | ONoCtty | OCloExec);
        if (fd < 0) throw new Win32Exception(Marshal.GetLastPInvokeError(), "posix_openpt");
        var master = new SafeFileHandle(fd, ownsHandle: true);
        var name = new byte[128];
        if (GrantPt(fd) != 0 || UnlockPt(fd) != 0 || PtsNameR(fd, name, name.Length) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            master.Dispose();
            throw new Win32Exception(error, "grantpt/unlockpt/ptsname_r");
        }
        return new PseudoTerminal(master, Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0)));
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

    // DllImport rather than LibraryImport: the source-generated form needs unsafe code in the project.
    [DllImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static extern int PosixOpenpt(int flags);

    [DllImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static extern int GrantPt(int fd);

    [DllImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static extern int UnlockPt(int fd);

    [DllImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
    private static extern int PtsNameR(int fd, byte[] buffer, nint length);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, ulong request, ref WinSize size);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, int argument);
}
