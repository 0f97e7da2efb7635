// A user's own images: running sessions saved (services/image_saves.hpp).
//   POST   /api/v1/sessions/{id}/image {"name"}  the owner: save it as "<user>/<name>"
//   GET    /api/v1/my-images[?user=]              the caller's saved images and saves
//   DELETE /api/v1/my-images/{name}[?user=]       the caller's: gone from the catalog
// Admins name another user with ?user= (to see what holds the registry's space, or free it).
#include "api/api.hpp"
#include "core/json_input.hpp"

namespace gpupool::api {

using nlohmann::json;

HttpReply Api::save_session_image(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto known = reject_unknown_fields(*body, {"name"}); !known)
    return error_reply(known.error());
  auto name = required_string(*body, "name", 64);
  if (!name) return error_reply(name.error());
  auto save = image_saves_.save(call.caller().user, call.parameter("id"), *name);
  if (!save) return error_reply(save.error());
  sessions_.node_job_ordered();
  return json_reply(202, image_save_view(*save));
}

Result<std::string> Api::images_owner(const Call& call) {
  const User& caller = call.caller().user;
  std::string named = call.query_value("user");
  if (named.empty() || named == caller.username) return caller.username;
  if (!caller.admin) return make_error(ErrorCode::forbidden, "only admins see others' images");
  auto user = user_named(named);
  if (!user) return user.error();
  return user->username;
}

HttpReply Api::my_images(const Call& call) {
  auto owner = images_owner(call);
  if (!owner) return error_reply(owner.error());
  auto mine = image_saves_.mine(*owner);
  if (!mine) return error_reply(mine.error());
  auto nodes = store_.list_nodes();
  if (!nodes) return error_reply(nodes.error());
  json images = json::array();
  for (const auto& image : mine->images)
    images.push_back(image_view(image, services::image_fits(image, *nodes), false));
  json saves = json::array();
  for (const auto& save : mine->saves) saves.push_back(image_save_view(save));
  const auto& settings = image_saves_.settings();
  return json_reply(200, {{"images", images},
                          {"saves", saves},
                          {"saving_enabled", !settings.registry.empty()},
                          {"max_images", settings.max_images},
                          {"max_bytes", settings.max_bytes}});
}

HttpReply Api::remove_my_image(const Call& call) {
  auto owner = images_owner(call);
  if (!owner) return error_reply(owner.error());
  auto removed = image_saves_.remove(*owner, call.parameter("name"));
  if (!removed) return error_reply(removed.error());
  return json_reply(200, {{"name", call.parameter("name")}, {"removed", true}});
}

}  // namespace gpupool::api
