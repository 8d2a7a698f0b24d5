using System.Runtime.InteropServices;
using System.Text;
using Runcs.Linux;

namespace Runcs.Processes;

/// <summary>
/// Builds a launch plan in unmanaged memory: the steps and every string, array and buffer they
/// point to, prepared by the parent before clone() so the sequencer only reads memory. Each step
/// carries a description so the parent can explain a failure ("joining network namespace ...").
/// The memory lives as long as the plan; the CLI process is short-lived, so it is freed on Dispose.
/// </summary>
public sealed unsafe class LaunchPlan : IDisposable
{
    private readonly List<Step> _steps = new();
    private readonly List<string> _what = new();
    private readonly List<nint> _allocations = new();
    private Step* _native;

    public int Count => _steps.Count;

    public int Add(Step s, string what)
    {
        _steps.Add(s);
        _what.Add(what);
        return _steps.Count - 1;
    }

    public int Syscall(long nr, string what, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, StepFlags flags = StepFlags.None)
        => Add(new Step { Op = StepOp.Syscall, Nr = nr, A0 = a0, A1 = a1, A2 = a2, A3 = a3, A4 = a4, A5 = a5, Flags = flags }, what);

    public int WaitByte(byte b, string what) => Add(new Step { Op = StepOp.WaitByte, A0 = b }, what);
    public int Report(int kind, string what) => Add(new Step { Op = StepOp.Report, A0 = kind }, what);
    public int Exit(int code, string what) => Add(new Step { Op = StepOp.Exit, A0 = code }, what);
    public int WriteFile(string path, byte[] data, string what)
        => Add(new Step { Op = StepOp.WriteFile, A0 = (long)CString(path), A1 = data.Length, A2 = (long)Bytes(data) }, what);

    /// <summary>Adds a clone step whose child target is patched later with <see cref="SetCloneTarget"/>.</summary>
    public int Clone(long flags, int childStage, string what) => Add(new Step { Op = StepOp.Clone, A0 = flags, A2 = childStage }, what);

    public void SetCloneTarget(int cloneStep, int target)
    {
        var s = _steps[cloneStep];
        s.A1 = target;
        _steps[cloneStep] = s;
    }

    public int ExecveAt(int fd, byte** argv, byte** envp, string what)
        => Add(new Step { Op = StepOp.Exec, A0 = 0, A1 = (long)argv, A2 = (long)envp, A3 = fd, A4 = (long)CString("") }, what);

    public int ExecveCandidates(IReadOnlyList<string> paths, byte** argv, byte** envp, string what)
        => Add(new Step { Op = StepOp.Exec, A0 = (long)CStringArray(paths), A1 = (long)argv, A2 = (long)envp }, what);

    public int CheckCwd(string what)
    {
        const int size = 4096;
        return Add(new Step { Op = StepOp.CheckCwd, A0 = (long)Alloc(size), A1 = size }, what);
    }

    /// <summary>
    /// Closes every fd from <paramref name="from"/> up except <paramref name="keep"/>: a forked stage
    /// must not hold the CLI's other fds (the state lock, the parent's end of the sync socket: a
    /// killed CLI must leave no stage blocked forever).
    /// </summary>
    public void CloseAllExcept(IEnumerable<int> keep, int from, string what)
    {
        int start = from;
        foreach (var fd in keep.Where(f => f >= from).Distinct().Order())
        {
            if (fd > start) Syscall(SysNr.close_range, what, start, fd - 1, 0, flags: StepFlags.IgnoreError);
            start = fd + 1;
        }
        Syscall(SysNr.close_range, what, start, uint.MaxValue, 0, flags: StepFlags.IgnoreError);
    }

    public string Describe(int step) => step >= 0 && step < _what.Count ? _what[step] : $"step {step}";

    /// <summary>The steps as one native array (built once, after the last Add).</summary>
    public Step* Native
    {
        get
        {
            if (_native == null)
            {
                _native = (Step*)Alloc(sizeof(Step) * Math.Max(1, _steps.Count));
                for (int i = 0; i < _steps.Count; i++) _native[i] = _steps[i];
            }
            return _native;
        }
    }

    public byte* CString(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)Alloc(n + 1);
        fixed (char* c = s) Encoding.UTF8.GetBytes(c, s.Length, p, n);
        p[n] = 0;
        return p;
    }

    public byte** CStringArray(IReadOnlyList<string> items)
    {
        byte** arr = (byte**)Alloc(sizeof(nint) * (items.Count + 1));
        for (int i = 0; i < items.Count; i++) arr[i] = CString(items[i]);
        arr[items.Count] = null;
        return arr;
    }

    public byte* Bytes(ReadOnlySpan<byte> data)
    {
        byte* p = (byte*)Alloc(Math.Max(1, data.Length));
        data.CopyTo(new Span<byte>(p, data.Length));
        return p;
    }

    public void* Alloc(int size)
    {
        void* p = NativeMemory.AllocZeroed((nuint)size);
        _allocations.Add((nint)p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _allocations) NativeMemory.Free((void*)p);
        _allocations.Clear();
        _native = null;
    }
}
