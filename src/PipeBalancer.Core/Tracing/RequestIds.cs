using System.Security.Cryptography;
using PipeBalancer.Configuration;

namespace PipeBalancer.Tracing;

/// <summary>
/// Request ids: which ones a client may send (1 to <see cref="RequestIdConfig.MaxLength"/>
/// visible ASCII characters, no spaces), and new ones (32 lowercase hex characters from 128
/// random bits, the shape of nginx's <c>$request_id</c>), written straight into a buffer.
/// </summary>
internal static class RequestIds
{
    /// <summary>Characters of a generated id.</summary>
    public const int GeneratedLength = 32;

    /// <summary>Whether <paramref name="id"/> is kept as the client sent it.</summary>
    public static bool IsValid(ReadOnlySpan<byte> id) =>
        id.Length is > 0 and <= RequestIdConfig.MaxLength && !id.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E);

    /// <summary>Writes a new id into the first <see cref="GeneratedLength"/> bytes of <paramref name="destination"/>.</summary>
    public static void Generate(Span<byte> destination)
    {
        // Random.Shared would do for uniqueness, but an id that a client can predict lets it
        // forge another request's log lines; the system generator costs about the same here.
        Span<byte> random = stackalloc byte[GeneratedLength / 2];
        RandomNumberGenerator.Fill(random);
        Convert.TryToHexStringLower(random, destination, out _);
    }
}
