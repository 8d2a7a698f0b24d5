using System.Runtime.InteropServices;

namespace Runcs.Linux;

internal static partial class Posix
{
    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkdir(string path, int mode);
}
