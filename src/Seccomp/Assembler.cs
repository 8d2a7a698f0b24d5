namespace Runcs.Seccomp;

/// <summary>Label-based classic-BPF assembler with long-jump relaxation: a conditional branch
/// that would need an offset above 255 is routed through an inserted <c>BPF_JA</c> (32-bit k).</summary>
internal sealed class Assembler
{
    internal sealed class Ins
    {
        public ushort Code;
        public uint K;
        public Label? Jt, Jf; // null = next instruction
        public int Index;
        public bool IsJump => (Code & 0x07) == Bpf.JMP;
        public bool IsJa => Code == (Bpf.JMP | Bpf.JA);
    }

    internal sealed class Label
    {
        public Ins? Target;
        public readonly string Name;
        public Label(string name) => Name = name;
    }

    private readonly List<Ins> _ins = new(256);
    private readonly List<Label> _pending = new();

    public int Count => _ins.Count;

    public Label NewLabel(string name = "") => new(name);

    public void Mark(Label l) => _pending.Add(l);

    private void Add(Ins i)
    {
        foreach (var l in _pending) l.Target = i;
        _pending.Clear();
        _ins.Add(i);
    }

    public void Stmt(ushort code, uint k) => Add(new Ins { Code = code, K = k });

    public void Load(uint offset) => Stmt(Bpf.LD | Bpf.W | Bpf.ABS, offset);

    public void Ret(uint k) => Stmt(Bpf.RET | Bpf.K, k);

    public void Ja(Label l) => Add(new Ins { Code = Bpf.JMP | Bpf.JA, Jt = l });

    /// <summary>Conditional jump; a null label means "the next instruction".</summary>
    public void Jmp(ushort op, uint k, Label? jt, Label? jf) => Add(new Ins { Code = (ushort)(Bpf.JMP | op | Bpf.K), K = k, Jt = jt, Jf = jf });

    public SockFilter[] Build()
    {
        if (_pending.Count > 0) throw new InvalidOperationException("label marked past the end");
        while (true)
        {
            for (var i = 0; i < _ins.Count; i++) _ins[i].Index = i;
            var changed = false;
            for (var i = 0; i < _ins.Count; i++)
            {
                var ins = _ins[i];
                if (!ins.IsJump || ins.IsJa) continue;
                var insertAt = i + 1;
                for (var branch = 0; branch < 2; branch++)
                {
                    var isTrue = branch == 0;
                    var l = isTrue ? ins.Jt : ins.Jf;
                    if (l is null) continue;
                    var dist = l.Target!.Index - (i + 1);
                    if (dist <= 255) continue;
                    var tramp = new Ins { Code = Bpf.JMP | Bpf.JA, Jt = l };
                    _ins.Insert(insertAt++, tramp);
                    var tl = new Label("tramp") { Target = tramp };
                    if (isTrue) ins.Jt = tl; else ins.Jf = tl;
                    changed = true;
                }
                if (insertAt != i + 1)
                {
                    // the fall-through path now has to skip the trampolines
                    var after = new Label("after") { Target = insertAt < _ins.Count ? _ins[insertAt] : throw new InvalidOperationException("jump at end") };
                    if (ins.Jt is null) ins.Jt = after;
                    if (ins.Jf is null) ins.Jf = after;
                    break; // indices are stale: restart the scan
                }
            }
            if (!changed) break;
        }
        var prog = new SockFilter[_ins.Count];
        for (var i = 0; i < _ins.Count; i++)
        {
            var ins = _ins[i];
            if (ins.IsJa)
                prog[i] = new SockFilter(ins.Code, 0, 0, (uint)(ins.Jt!.Target!.Index - (i + 1)));
            else if (ins.IsJump)
                prog[i] = new SockFilter(ins.Code, Dist(ins.Jt, i), Dist(ins.Jf, i), ins.K);
            else
                prog[i] = new SockFilter(ins.Code, 0, 0, ins.K);
        }
        return prog;
    }

    private static byte Dist(Label? l, int i) => l is null ? (byte)0 : checked((byte)(l.Target!.Index - (i + 1)));
}
