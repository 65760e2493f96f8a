using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PipeBalancer.Configuration;
using PipeBalancer.Runtime;

namespace PipeBalancer.Hosting;

/// <summary>
/// A small HTTP server that answers every request with its own id, for the demo and for the
/// load harness when nginx is not installed: <c>GET /health</c> says ok, anything else says
/// which backend answered and what it was asked.
/// </summary>
internal static class SampleBackend
{
    public static WebApplication Create(string id, HostPort address)
    {
        var builder = WebApplication.CreateSlimBuilder(EmbeddedAppOptions.Create());
        builder.Logging.ClearProviders();
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(address.IPAddress ?? IPAddress.Loopback, address.Port);
        });

        var app = builder.Build();
        byte[] health = "ok\n"u8.ToArray();
        byte[] greeting = System.Text.Encoding.UTF8.GetBytes($"hello from {id}\n");
        app.Run(context =>
        {
            var response = context.Response;
            response.ContentType = "text/plain; charset=utf-8";
            response.Headers["X-Backend"] = id;
            byte[] body = context.Request.Path == "/health" ? health : greeting;
            response.ContentLength = body.Length;
            return context.Request.Method == HttpMethods.Head ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
        });
        return app;
    }
}
