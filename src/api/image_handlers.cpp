// The image catalog (services/image_catalog.hpp).
//   GET   /api/v1/images                      users: those open to them; admins: all
//   POST  /api/v1/images {"reference", "tag"?, "prepull"?}        admins: add, in testing
//   PATCH /api/v1/images/{tag} {"state"?, "prepull"?, "default"?}  admins: roll out, retire
//   POST  /api/v1/images/{tag}/check                               admins: check it again
// Every admin write is in the audit log (the dispatcher writes it).
#include "api/api.hpp"
#include "core/json_input.hpp"

namespace gpupool::api {

using nlohmann::json;

HttpReply Api::images(const Call& call) {
  bool admin = call.caller().user.admin;
  auto images = image_catalog_.list(call.caller().user);
  if (!images) return error_reply(images.error());
  auto nodes = store_.list_nodes();
  if (!nodes) return error_reply(nodes.error());
  json list = json::array();
  for (const auto& image : *images)
    list.push_back(image_view(image, services::image_fits(image, *nodes), admin));
  return json_reply(200, {{"images", list}});
}

HttpReply Api::image_reply(int status, const Image& image) {
  auto nodes = store_.list_nodes();
  if (!nodes) return error_reply(nodes.error());
  return json_reply(status, image_view(image, services::image_fits(image, *nodes), true));
}

HttpReply Api::add_image(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto known = reject_unknown_fields(*body, {"reference", "tag", "prepull"}); !known)
    return error_reply(known.error());
  auto reference = required_string(*body, "reference", 512);
  if (!reference) return error_reply(reference.error());
  auto tag = optional_string(*body, "tag", 128);
  if (!tag) return error_reply(tag.error());
  auto prepull = optional_bool(*body, "prepull");
  if (!prepull) return error_reply(prepull.error());
  auto image = image_catalog_.add(call.caller().user.username,
                                  {*reference, tag->value_or(""), prepull->value_or(false)});
  if (!image) return error_reply(image.error());
  sessions_.node_job_ordered();
  return image_reply(201, *image);
}

HttpReply Api::change_image(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto known = reject_unknown_fields(*body, {"state", "prepull", "default"}); !known)
    return error_reply(known.error());
  services::ImageChange change;
  auto state = optional_string(*body, "state", 32);
  if (!state) return error_reply(state.error());
  if (*state) {
    change.state = parse_image_state(**state);
    if (!change.state) {
      return error_reply(ErrorCode::invalid_argument,
                         "\"state\" must be testing, canary, stable, deprecated or retired");
    }
  }
  auto prepull = optional_bool(*body, "prepull");
  if (!prepull) return error_reply(prepull.error());
  change.prepull = *prepull;
  auto is_default = optional_bool(*body, "default");
  if (!is_default) return error_reply(is_default.error());
  change.is_default = *is_default;
  auto image = image_catalog_.change(call.parameter("tag"), change);
  if (!image) return error_reply(image.error());
  return image_reply(200, *image);
}

HttpReply Api::recheck_image(const Call& call) {
  auto image = image_catalog_.recheck(call.parameter("tag"));
  if (!image) return error_reply(image.error());
  sessions_.node_job_ordered();
  return image_reply(202, *image);
}

}  // namespace gpupool::api
