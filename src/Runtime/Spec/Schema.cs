using System.Text.Json.Nodes;

namespace Runcs.Spec;

// Placeholder until the schema work lands (it replaces this file).
public readonly record struct SchemaError(string Pointer, string Message);

public static class SchemaValidator
{
    public static IReadOnlyList<SchemaError> ValidateConfig(JsonNode? doc) => [];
}
