using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// A real HTTP backend (Kestrel) on 127.0.0.1 port 0 that says who it is and what it received:
/// <c>/echo</c> returns the body, <c>/headers</c> the request's field lines, <c>/status/N</c>
/// answers N, <c>/chunked</c> a chunked body, <c>/big/N</c> N bytes, <c>/sink</c> reads the body
/// and answers its length, <c>/ws</c> a WebSocket echo; anything else "hello from ID".
/// </summary>
public sealed class TestBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private TestBackend(string id, WebApplication app)
    {
        Id = id;
        _app = app;
    }

    public string Id { get; }

    public int Port { get; private set; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Paths received, in order.</summary>
    public ConcurrentQueue<string> Paths { get; } = new();

    public static async Task<TestBackend> StartAsync(string id, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = null;
            k.Limits.MaxRequestHeadersTotalSize = 1024 * 1024;
        });
        var app = builder.Build();
        var backend = new TestBackend(id, app);
        app.UseWebSockets();
        app.Run(backend.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        backend.Port = new Uri(address).Port;
        return backend;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var request = context.Request;
        var response = context.Response;
        Paths.Enqueue(request.Path + request.QueryString);
        response.Headers["X-Backend"] = Id;
        string path = request.Path.Value ?? "/";
        if (path == "/echo")
        {
            if (request.Headers.ContentLength is { } length)
            {
                response.ContentLength = length;
            }

            await request.Body.CopyToAsync(response.Body);
        }
        else if (path == "/sink")
        {
            long total = 0;
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await request.Body.ReadAsync(buffer)) > 0)
            {
                total += read;
            }

            await response.WriteAsync(total.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else if (path == "/headers")
        {
            var text = new StringBuilder();
            foreach (var (name, values) in request.Headers)
            {
                foreach (string? value in values)
                {
                    text.Append(name).Append(": ").Append(value).Append('\n');
                }
            }

            await response.WriteAsync(text.ToString());
        }
        else if (path.StartsWith("/status/", StringComparison.Ordinal))
        {
            response.StatusCode = int.Parse(path[8..], System.Globalization.CultureInfo.InvariantCulture);
            if (response.StatusCode == 304)
            {
                response.Headers.ETag = "\"v1\"";
            }
        }
        else if (path == "/chunked")
        {
            foreach (string part in new[] { "one ", "two ", "three" })
            {
                await response.WriteAsync(part);
                await response.Body.FlushAsync();
            }
        }
        else if (path.StartsWith("/big/", StringComparison.Ordinal))
        {
            long size = long.Parse(path[5..], System.Globalization.CultureInfo.InvariantCulture);
            response.ContentLength = size;
            var block = new byte[64 * 1024];
            Array.Fill(block, (byte)'x');
            for (long sent = 0; sent < size; sent += block.Length)
            {
                await response.Body.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, size - sent)));
            }
        }
        else if (path == "/ws" && context.WebSockets.IsWebSocketRequest)
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[4096];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, CancellationToken.None);
            }
        }
        else
        {
            await response.WriteAsync($"hello from {Id}");
        }
    }
}
