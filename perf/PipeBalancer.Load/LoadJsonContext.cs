using System.Text.Json.Serialization;

namespace PipeBalancer.Load;

/// <summary>Source-generated JSON for the few values the harness writes and reads.</summary>
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(System.Text.Json.JsonElement))]
internal sealed partial class LoadJsonContext : JsonSerializerContext;
