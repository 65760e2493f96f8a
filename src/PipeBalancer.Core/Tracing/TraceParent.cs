using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;

namespace PipeBalancer.Tracing;

/// <summary>
/// A W3C Trace Context <c>traceparent</c> value: <c>version-traceid-parentid-flags</c>, e.g.
/// <c>00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01</c>. Parsed from and written to
/// bytes, and held as numbers: <see cref="ActivityTraceId"/> and <see cref="ActivitySpanId"/>
/// carry a hex string each, so they are made only for a span that is recorded.
/// </summary>
/// <remarks>
/// The rules (W3C Trace Context, section 3.2): every part is lowercase hex; version <c>ff</c> is
/// invalid; version <c>00</c> is exactly 55 characters; a later version is at least 55, and any
/// more must start with <c>-</c> (its first four parts are read as version 00's); a trace id or
/// parent id of all zeros is invalid. An invalid value is treated as if there were none.
/// </remarks>
internal readonly struct TraceParent
{
    /// <summary>Characters of a version 00 value.</summary>
    public const int Length = 55;

    private static readonly SearchValues<byte> LowerHex = SearchValues.Create("0123456789abcdef"u8);

    private readonly ulong _traceHigh;
    private readonly ulong _traceLow;
    private readonly ulong _parent;

    private TraceParent(ulong traceHigh, ulong traceLow, ulong parent, ActivityTraceFlags flags)
    {
        _traceHigh = traceHigh;
        _traceLow = traceLow;
        _parent = parent;
        Flags = flags;
    }

    /// <summary>A value from an activity's ids.</summary>
    public TraceParent(ActivityTraceId traceId, ActivitySpanId parentId, ActivityTraceFlags flags)
    {
        Span<byte> bytes = stackalloc byte[16];
        traceId.CopyTo(bytes);
        _traceHigh = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _traceLow = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        parentId.CopyTo(bytes[..8]);
        _parent = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        Flags = flags;
    }

    /// <summary>The trace the request belongs to (makes a string: for recorded spans only).</summary>
    public ActivityTraceId TraceId
    {
        get
        {
            Span<byte> bytes = stackalloc byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, _traceHigh);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _traceLow);
            return ActivityTraceId.CreateFromBytes(bytes);
        }
    }

    /// <summary>The span of the caller (incoming), or of the balancer (forwarded); makes a string.</summary>
    public ActivitySpanId ParentId
    {
        get
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, _parent);
            return ActivitySpanId.CreateFromBytes(bytes);
        }
    }

    /// <summary>The trace flags; bit 0 is "sampled".</summary>
    public ActivityTraceFlags Flags { get; }

    /// <summary>Whether the caller recorded its span.</summary>
    public bool Sampled => (Flags & ActivityTraceFlags.Recorded) != 0;

    /// <summary>This value's trace, under a new random span id of the balancer's own, sampled.</summary>
    public TraceParent WithNewParent() => new(_traceHigh, _traceLow, NonZeroRandom(), ActivityTraceFlags.Recorded);

    /// <summary>A new trace with a new span id, both random, sampled.</summary>
    public static TraceParent NewTrace() => new(NonZeroRandom(), NonZeroRandom(), NonZeroRandom(), ActivityTraceFlags.Recorded);

    /// <summary>Reads <paramref name="value"/> (a field value, spaces around it already trimmed).</summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out TraceParent result)
    {
        result = default;
        if (value.Length < Length || !IsHex(value[..2]) || value[2] != (byte)'-' || value[35] != (byte)'-' || value[52] != (byte)'-')
        {
            return false;
        }

        bool version00 = value[0] == (byte)'0' && value[1] == (byte)'0';
        bool versionFF = value[0] == (byte)'f' && value[1] == (byte)'f';
        if (versionFF || (version00 && value.Length != Length) || (!version00 && value.Length > Length && value[Length] != (byte)'-'))
        {
            return false;
        }

        var traceId = value.Slice(3, 32);
        var parentId = value.Slice(36, 16);
        var flags = value.Slice(53, 2);
        if (!IsHex(traceId) || !IsHex(parentId) || !IsHex(flags))
        {
            return false;
        }

        ulong high = Number(traceId[..16]);
        ulong low = Number(traceId[16..]);
        ulong parent = Number(parentId);
        if ((high | low) == 0 || parent == 0)
        {
            return false;
        }

        result = new TraceParent(high, low, parent, (ActivityTraceFlags)Number(flags));
        return true;
    }

    /// <summary>Writes the value, as version 00, into the first <see cref="Length"/> bytes of <paramref name="destination"/>.</summary>
    public void Format(Span<byte> destination)
    {
        Span<byte> raw = stackalloc byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(raw, _traceHigh);
        BinaryPrimitives.WriteUInt64BigEndian(raw[8..], _traceLow);
        BinaryPrimitives.WriteUInt64BigEndian(raw[16..], _parent);
        destination[0] = (byte)'0';
        destination[1] = (byte)'0';
        destination[2] = (byte)'-';
        Convert.TryToHexStringLower(raw[..16], destination.Slice(3, 32), out _);
        destination[35] = (byte)'-';
        Convert.TryToHexStringLower(raw[16..], destination.Slice(36, 16), out _);
        destination[52] = (byte)'-';
        // Only the sampled bit is asserted by the balancer; other bits are unknown to version 00.
        destination[53] = (byte)'0';
        destination[54] = Sampled ? (byte)'1' : (byte)'0';
    }

    // Lowercase only: the specification refuses uppercase hex.
    private static bool IsHex(ReadOnlySpan<byte> text) => !text.ContainsAnyExcept(LowerHex);

    private static ulong Number(ReadOnlySpan<byte> hex)
    {
        ulong value = 0;
        foreach (byte c in hex)
        {
            value = value << 4 | (uint)(c <= '9' ? c - '0' : c - 'a' + 10);
        }

        return value;
    }

    private static ulong NonZeroRandom()
    {
        ulong value;
        do
        {
            value = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
        }
        while (value == 0);
        return value;
    }
}
