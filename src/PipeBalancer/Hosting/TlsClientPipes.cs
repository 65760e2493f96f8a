using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Connections.Features;

namespace PipeBalancer.Hosting;

/// <summary>
/// One TLS client connection after its handshake: pipes straight over the <see cref="SslStream"/>
/// that reads and writes the accepted socket, and the connection's TLS features
/// (<see cref="ITlsHandshakeFeature"/>: the HTTP session sends <c>X-Forwarded-Proto: https</c>
/// and the TCP handler ends the client side when the backend closes). The input waits for
/// bytes with a zero-byte read, so an idle connection holds no pool block; the output writes
/// each flushed segment as one TLS record.
/// </summary>
internal sealed class TlsClientPipes : IDuplexPipe, ITlsHandshakeFeature
{
    private readonly SslStream _stream;

    /// <summary>Pipes over <paramref name="stream"/>, authenticated, with segments from <paramref name="pool"/>.</summary>
    public TlsClientPipes(SslStream stream, MemoryPool<byte> pool)
    {
        _stream = stream;
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(pool, bufferSize: pool.MaxBufferSize, minimumReadSize: MinimumReadSize(pool), leaveOpen: true, useZeroByteReads: true));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(pool, minimumBufferSize: pool.MaxBufferSize, leaveOpen: true));
    }

    /// <inheritdoc />
    public PipeReader Input { get; }

    /// <inheritdoc />
    public PipeWriter Output { get; }

    /// <inheritdoc />
    public SslProtocols Protocol => _stream.SslProtocol;

    /// <inheritdoc />
    public TlsCipherSuite? NegotiatedCipherSuite => _stream.NegotiatedCipherSuite;

    /// <inheritdoc />
    public string HostName => _stream.TargetHostName;

#pragma warning disable SYSLIB0058 // The interface still has them; they say what SslStream says.
    /// <inheritdoc />
    public CipherAlgorithmType CipherAlgorithm => _stream.CipherAlgorithm;

    /// <inheritdoc />
    public int CipherStrength => _stream.CipherStrength;

    /// <inheritdoc />
    public HashAlgorithmType HashAlgorithm => _stream.HashAlgorithm;

    /// <inheritdoc />
    public int HashStrength => _stream.HashStrength;

    /// <inheritdoc />
    public ExchangeAlgorithmType KeyExchangeAlgorithm => _stream.KeyExchangeAlgorithm;

    /// <inheritdoc />
    public int KeyExchangeStrength => _stream.KeyExchangeStrength;
#pragma warning restore SYSLIB0058

    /// <summary>
    /// Ends both pipes once the handler is done with them: what the output still holds is
    /// written, and their blocks go back to the pool. The stream stays open for its owner.
    /// </summary>
    public async ValueTask CompleteAsync()
    {
        try
        {
            await Output.CompleteAsync().ConfigureAwait(false);
        }
        finally
        {
            await Input.CompleteAsync().ConfigureAwait(false);
        }
    }

    // A read into a block starts a new block when less than this is left in the current one:
    // a TLS record carries up to 16 KB, so a read into a nearly full block would take a few
    // bytes of it and leave the rest for another read.
    private static int MinimumReadSize(MemoryPool<byte> pool) => Math.Max(1, Math.Min(4096, pool.MaxBufferSize / 4));
}
