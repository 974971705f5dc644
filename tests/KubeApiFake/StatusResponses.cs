using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>Builds Kubernetes <c>Status</c> bodies and the matching exceptions, worded like the real API server.</summary>
internal static class StatusResponses
{
    public const string ConflictMessage =
        "the object has been modified; please apply your changes to the latest version and try again";

    public static JsonObject Failure(int code, string reason, string message, JsonObject? details)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
        };
        if (reason.Length > 0) status["reason"] = reason;
        if (details is not null) status["details"] = details;
        status["code"] = code;
        return status;
    }

    public static JsonObject Success(ResourceType rt, string name, string? uid)
    {
        var details = ObjectDetails(rt, name);
        if (uid is not null) details["uid"] = uid;
        return new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
            ["details"] = details,
        };
    }

    public static JsonObject ObjectDetails(ResourceType rt, string name)
    {
        var details = new JsonObject { ["name"] = name };
        if (rt.Group.Length > 0) details["group"] = rt.Group;
        details["kind"] = rt.Plural;
        return details;
    }

    public static KubeApiException NotFound(ResourceType rt, string name) =>
        new(404, "NotFound", $"{rt.GroupResource} \"{name}\" not found", ObjectDetails(rt, name));

    public static KubeApiException ResourceNotFound() =>
        new(404, "NotFound", "the server could not find the requested resource", new JsonObject());

    public static KubeApiException AlreadyExists(ResourceType rt, string name) =>
        new(409, "AlreadyExists", $"{rt.GroupResource} \"{name}\" already exists", ObjectDetails(rt, name));

    public static KubeApiException Conflict(ResourceType rt, string name, string why = ConflictMessage) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {rt.GroupResource} \"{name}\": {why}", ObjectDetails(rt, name));

    public static KubeApiException BadRequest(string message) => new(400, "BadRequest", message);

    /// <summary>
    /// 403 as apimachinery's <c>errors.NewForbidden(groupResource, name, err)</c> words it, which an
    /// admission plugin's refusal (<c>admission.NewForbidden</c>) becomes: <c>pods "x" is forbidden: why</c>.
    /// </summary>
    public static KubeApiException Forbidden(ResourceType rt, string name, string why)
    {
        var message = name.Length == 0 ? $"{rt.GroupResource} is forbidden: {why}" : $"{rt.GroupResource} \"{name}\" is forbidden: {why}";
        return new KubeApiException(403, "Forbidden", message, ObjectDetails(rt, name));
    }

    public static KubeApiException MethodNotAllowed() =>
        new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", new JsonObject());

    public static KubeApiException UnsupportedMediaType(string contentType) =>
        new(415, "UnsupportedMediaType",
            $"the body of the request was in an unknown format ({contentType}) - accepted media types include: " +
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" +
            (contentType == "application/strategic-merge-patch+json" ? "" : ", application/strategic-merge-patch+json (built-in kinds)"));

    public static KubeApiException Expired(string message) => new(410, "Expired", message);

    public static KubeApiException InternalError(string message) =>
        new(500, "InternalError", $"Internal error occurred: {message}",
            new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["message"] = message }) });

    /// <summary>422 Invalid with field causes, message as the real server prints it.</summary>
    public static KubeApiException Invalid(ResourceType rt, string name, IReadOnlyList<FieldCause> causes)
    {
        var rendered = causes.Select(c => $"{c.Field}: {c.Message}").ToList();
        var summary = rendered.Count == 1 ? rendered[0] : "[" + string.Join(", ", rendered) + "]";
        var details = new JsonObject { ["name"] = name };
        if (rt.Group.Length > 0) details["group"] = rt.Group;
        details["kind"] = rt.Kind;
        details["causes"] = new JsonArray(causes.Select(c => (JsonNode)new JsonObject
        {
            ["reason"] = c.Reason,
            ["message"] = c.Message,
            ["field"] = c.Field,
        }).ToArray());
        return new KubeApiException(422, "Invalid", $"{rt.QualifiedKind} \"{name}\" is invalid: {summary}", details);
    }

    /// <summary>Reason used for an injected fault with the given HTTP status code.</summary>
    public static string ReasonFor(int code) => code switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    };
}

/// <summary>One field error of an Invalid status (<c>details.causes[]</c>).</summary>
/// <param name="Reason">Cause type, e.g. <c>FieldValueInvalid</c>.</param>
/// <param name="Message">Message without the field prefix, e.g. <c>Invalid value: 500: ...</c>.</param>
/// <param name="Field">Field path, e.g. <c>spec.replicas</c>.</param>
public sealed record FieldCause(string Reason, string Message, string Field);
