using System.ComponentModel;
using System.Runtime.InteropServices;

namespace LocalCluster.Runtime;

/// <summary>
/// The few libc calls the runtime makes itself rather than through a program: mount(2) and
/// umount2(2) for the containers' overlay root filesystems and the Pods' tmpfs volumes, and
/// eventfd(2) with read(2)/write(2) for cgroup v1 OOM notifications. Each throws
/// <see cref="Win32Exception"/> carrying errno and a message that names the call and its path.
/// </summary>
internal static class Native
{
    /// <summary>MS_RDONLY.</summary>
    public const ulong MsReadOnly = 1;

    /// <summary>MS_NOSUID.</summary>
    public const ulong MsNoSuid = 2;

    /// <summary>MS_NODEV.</summary>
    public const ulong MsNoDev = 4;

    /// <summary>umount2's MNT_DETACH: lazy unmount, the mount point is free at once.</summary>
    private const int MntDetach = 2;

    private const int EfdCloexec = 0x80000;
    private const int Einval = 22;
    private const int Enoent = 2;

    [DllImport("libc", EntryPoint = "mount", SetLastError = true)]
    private static extern int MountSyscall(string source, string target, string fstype, ulong flags, string? data);

    [DllImport("libc", EntryPoint = "lchown", SetLastError = true)]
    private static extern int LchownSyscall(string path, int uid, int gid);

    [DllImport("libc", EntryPoint = "umount2", SetLastError = true)]
    private static extern int Umount2Syscall(string target, int flags);

    [DllImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static extern int EventFdSyscall(uint initval, int flags);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint ReadSyscall(int fd, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "write", SetLastError = true)]
    private static extern nint WriteSyscall(int fd, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int CloseSyscall(int fd);

    /// <summary>mount(2); throws with the call spelled out when it fails.</summary>
    public static void Mount(string source, string target, string fsType, ulong flags, string? data)
    {
        if (MountSyscall(source, target, fsType, flags, data) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Win32Exception(errno, $"mount -t {fsType} {source} {target} ({data}): {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    /// <summary>Detaches the mount at <paramref name="target"/>; false when nothing is mounted there.</summary>
    public static bool Unmount(string target)
    {
        if (Umount2Syscall(target, MntDetach) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno is Einval or Enoent) return false;
        throw new Win32Exception(errno, $"umount {target}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    /// <summary>lchown(2): <paramref name="uid"/> or <paramref name="gid"/> -1 leaves that one unchanged.</summary>
    public static void Chown(string path, long uid, long gid)
    {
        if (LchownSyscall(path, (int)uid, (int)gid) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Win32Exception(errno, $"chown {uid}:{gid} {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    /// <summary>A new eventfd (close-on-exec), counter 0.</summary>
    public static int EventFd()
    {
        var fd = EventFdSyscall(0, EfdCloexec);
        if (fd < 0) throw new Win32Exception(Marshal.GetLastPInvokeError(), "eventfd");
        return fd;
    }

    /// <summary>Blocks until the eventfd's counter is non-zero; returns and resets it.</summary>
    public static ulong ReadEventFd(int fd)
    {
        var buffer = new byte[8];
        while (true)
        {
            if (ReadSyscall(fd, buffer, 8) == 8) return BitConverter.ToUInt64(buffer);
            var errno = Marshal.GetLastPInvokeError();
            if (errno != 4) throw new Win32Exception(errno, "read eventfd"); // 4: EINTR, read again
        }
    }

    /// <summary>Adds <paramref name="value"/> to the eventfd's counter (wakes its reader).</summary>
    public static void WriteEventFd(int fd, ulong value) => WriteSyscall(fd, BitConverter.GetBytes(value), 8);

    /// <summary>close(2), errors ignored.</summary>
    public static void Close(int fd) => CloseSyscall(fd);

    /// <summary>
    /// Mount points at or below <paramref name="prefix"/> in this process's mount namespace, the
    /// deepest first (the order they must be unmounted in), from /proc/self/mountinfo (field 5,
    /// with the kernel's octal escapes of spaces and tabs undone).
    /// </summary>
    public static List<string> MountsUnder(string prefix)
    {
        var root = prefix.TrimEnd('/');
        var found = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length < 5) continue;
            var point = fields[4].Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
                .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
            if (point == root || point.StartsWith(root + "/", StringComparison.Ordinal)) found.Add(point);
        }
        return [.. found.Distinct().OrderByDescending(p => p.Count(c => c == '/')).ThenByDescending(p => p.Length)];
    }
}
